"""Every IRI tierpath's statements use, defined once (docs/xapi-profile.md).

Verbs and activity types come from ADL, cmi5 and the Tin Can registry where one
exists; tierpath's own activity types and extensions live under `TIERPATH`, a
stable namespace that will be published as JSON-LD with the profile.
"""

from __future__ import annotations

from typing import Final

TIERPATH: Final = "https://w3id.org/tierpath/xapi"
PROFILE: Final = f"{TIERPATH}/profile/cc-career/v1"


class Verb:
    """Verb IRIs (xAPI 1.0.3 Data 2.4.3) and their English display."""

    SCORED: Final = "http://adlnet.gov/expapi/verbs/scored"
    PASSED: Final = "http://adlnet.gov/expapi/verbs/passed"
    FAILED: Final = "http://adlnet.gov/expapi/verbs/failed"
    COMPLETED: Final = "http://adlnet.gov/expapi/verbs/completed"
    SATISFIED: Final = "https://w3id.org/xapi/adl/verbs/satisfied"
    REGISTERED: Final = "http://adlnet.gov/expapi/verbs/registered"
    SUBMITTED: Final = "http://activitystrea.ms/schema/1.0/submit"
    EARNED: Final = "http://id.tincanapi.com/verb/earned"
    ATTENDED: Final = "http://adlnet.gov/expapi/verbs/attended"
    VOIDED: Final = "http://adlnet.gov/expapi/verbs/voided"
    REVIEWED: Final = "http://id.tincanapi.com/verb/reviewed"

    DISPLAY: Final = {
        SCORED: "scored",
        PASSED: "passed",
        FAILED: "failed",
        COMPLETED: "completed",
        SATISFIED: "satisfied",
        REGISTERED: "registered",
        SUBMITTED: "submitted",
        EARNED: "earned",
        ATTENDED: "attended",
        VOIDED: "voided",
        REVIEWED: "reviewed",
    }


class ActivityType:
    """Activity type IRIs (Data 2.4.4.1 `definition.type`)."""

    ASSESSMENT: Final = "http://adlnet.gov/expapi/activities/assessment"
    MODULE: Final = "http://adlnet.gov/expapi/activities/module"
    COURSE: Final = "http://adlnet.gov/expapi/activities/course"
    MEETING: Final = "http://adlnet.gov/expapi/activities/meeting"
    DOCUMENT: Final = "http://id.tincanapi.com/activitytype/document"
    PROGRAM: Final = f"{TIERPATH}/activity-types/program"
    TIER: Final = f"{TIERPATH}/activity-types/tier"
    JOB_ROTATION: Final = f"{TIERPATH}/activity-types/job-rotation"
    REQUIREMENT: Final = f"{TIERPATH}/activity-types/requirement"
    # tierpath's own: no published Open Badges xAPI activity type was verified.
    BADGE: Final = f"{TIERPATH}/activity-types/badge"


class AttachmentUsage:
    """Attachment usage type IRIs (Data 2.4.11 `usageType`)."""

    SUPPORTING_MEDIA: Final = "http://id.tincanapi.com/attachment/supporting_media"


class Extension:
    """Extension IRIs (Data 2.4.4.1 / 2.4.5 / 2.4.6 extensions)."""

    ASSESSMENT_PHASE: Final = f"{TIERPATH}/extensions/assessment-phase"
    ATTEMPT_NUMBER: Final = f"{TIERPATH}/extensions/attempt-number"
    FORM: Final = f"{TIERPATH}/extensions/form"
    PROGRAM_VERSION: Final = f"{TIERPATH}/extensions/program-version"
    LEARNING_GAIN: Final = f"{TIERPATH}/extensions/learning-gain"
    NORMALISED_GAIN: Final = f"{TIERPATH}/extensions/normalised-gain"
    ENROLMENT_REASON: Final = f"{TIERPATH}/extensions/enrolment-reason"
    REVISION: Final = f"{TIERPATH}/extensions/revision"
    RUBRIC_SCORES: Final = f"{TIERPATH}/extensions/rubric-scores"
    RUBRIC_LEVELS: Final = f"{TIERPATH}/extensions/rubric-levels"
    RATER: Final = f"{TIERPATH}/extensions/rater"
    CREDENTIAL_ID: Final = f"{TIERPATH}/extensions/credential-id"
    REASON_SOURCE: Final = f"{TIERPATH}/extensions/reason-source"
    # In GET /xapi/about (Communication 2.8 `extensions`): the profile tierpath follows.
    ABOUT_PROFILE: Final = f"{TIERPATH}/extensions/profile"
