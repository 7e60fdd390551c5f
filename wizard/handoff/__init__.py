"""Hand an escalation to Tier 2 where Tier 2 works: e-mail (SMTP or an .eml file),
ServiceNow, Jira, Zendesk or a JSON webhook, chosen per Tier 2 group in the
organization file (``handoff.destinations``).

A failed hand-off goes to the outbox (``outbox/`` in the data folder) and is retried
with backoff by ``ipsec-triage sync`` and at the next start. Every hand-off carries the
call id as its idempotency key (correlation id, external id, label), and the ticket
system is asked for it before anything is created, so a retry never opens a second
ticket. The result (ticket number and link) is recorded in the call's journal.

Same layer as :mod:`wizard.records`; its organization-file models are
:mod:`wizard.config.handoff`.
"""
