"""Simulated families for demos, integration tests and policy evaluation.

`world` draws each seed's hidden dispositions (response tables, trait mixes),
`population` plays one family of a world, `transcripts` is what families say,
`engine` runs journeys in process through the worker's lead step, `seeds` splits
tuning from held-out report seeds, `stats` and `report` judge policies on them,
and `client` plays the families and their CRM against a real broker.
"""
