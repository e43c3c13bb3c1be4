"""Open Badges 3.0 / 2.0 credentials: build, sign, verify, bake (arrives with the badges issue).

A library a reader could lift out of the repo: plain data in, plain data out.
It never imports Flask or lti_tool.web.
"""
