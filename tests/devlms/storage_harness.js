// Runs devlms's Platform Storage postMessage handler outside a browser.
//
// stdin: {"config": "<JSON text of #lti-storage-config>", "script": "<handler>",
//         "events": [{"origin": "...", "data": ..., "source": "tool" | null}]}
// stdout: {"replies": [{"event": i, "message": ..., "target_origin": "..."}],
//          "log": [...], "log_items": [{attribute: value}]}
"use strict";
const fs = require("fs");

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const listeners = [];
const logItems = [];

function element(tag) {
  const attributes = {};
  return {
    tagName: tag,
    attributes,
    className: "",
    textContent: "",
    setAttribute(name, value) { attributes[name] = String(value); },
  };
}

const logList = {
  appendChild(child) { logItems.push({...child.attributes, text: child.textContent}); },
};
const document = {
  getElementById(id) {
    if (id === "lti-storage-config") { return {textContent: input.config}; }
    if (id === "lti-storage-log") { return logList; }
    return null;
  },
  createElement: element,
};
const window = {
  document,
  addEventListener(type, listener) {
    if (type === "message") { listeners.push(listener); }
  },
};
window.parent = window;

new Function("window", "document", input.script)(window, document);

const replies = [];
input.events.forEach((event, index) => {
  const source = event.source === null ? null : {
    postMessage(message, targetOrigin) {
      // Structured clone, as a browser would do.
      replies.push({event: index, message: JSON.parse(JSON.stringify(message)),
                    target_origin: targetOrigin});
    },
  };
  listeners.forEach((listener) => listener({origin: event.origin, data: event.data, source}));
});

process.stdout.write(JSON.stringify({
  replies,
  log: window.devlmsPlatformStorage ? window.devlmsPlatformStorage.log : null,
  log_items: logItems,
}));
