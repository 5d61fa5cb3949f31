"""The `stream-app` command line: parse arguments, build Settings, dispatch, print.

`app` holds the root command and `main`; `run`, `topics`, `data` and `offline` the
commands by topic; `settings` builds Settings for them and `render` prints for them.
"""
