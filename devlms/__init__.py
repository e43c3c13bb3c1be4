"""devlms: a small development LMS (independent LTI 1.3 platform) for tierpath.

It is a separate program that talks to the tool only over HTTP.  Start it with
``python -m devlms``; tests use :func:`devlms.app.create_platform`.

Besides resource-link launches, Deep Linking, AGS and NRPS it offers LTI
Platform Storage to framed launches (:mod:`devlms.storage`), LTI Dynamic
Registration (:mod:`devlms.registration`) and Submission Review launches from
the gradebook.
"""
