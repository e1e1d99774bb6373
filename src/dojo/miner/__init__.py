"""The miner: signed endpoints for validators (``app``), its worker API client (``worker_client``),
the task map that survives restarts (``store``) and the service runner behind ``dojo miner`` (``service``)."""
