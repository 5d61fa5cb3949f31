"""The operator console: a read model over the app's own topics and the pages staff work from.

It is a client of the topics like any CRM: `feed` consumes the outputs and the inputs
a timeline needs into SQLite (`store`), `views` turns rows into what each page shows,
`server` serves the HTML and JSON, and `publish` sends what an operator decides
(`action.outcome`, reminder acts) back to the input topics the worker reads.
"""
