"""Simulated families for demos, integration tests and policy evaluation (issue 8).

`population` holds the hidden family model, `transcripts` what families say,
`engine` runs journeys in process through the pure domain, `report` compares
policies, and `client` plays the families and their CRM against a real broker.
"""
