"""xAPI statements, local store, outbox and LRS delivery (arrives with the xAPI issue).

A library a reader could lift out of the repo: plain data in, plain data out.
It never imports Flask or lti_tool.web.
"""
