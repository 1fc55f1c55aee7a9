"""Talking to a Concord CRM: the HTTP client, rate-limit pacing, paging and field metadata.

``client.ConcordClient`` is the one way the package reaches the API (``wire`` holds its pure
helpers: status → error, batched search queries, JSON; ``connection.connect`` builds one from
arguments, environment, profile or ``.env``); ``pacing`` decides when each request
may leave from the server's rate-limit headers (parsed by ``rate_headers``); ``pages`` walks
list endpoints; ``fields`` turns ``create-fields`` descriptors into typed ``FieldSpec``s.
Knows nothing of files, mappings or pandas.
"""
