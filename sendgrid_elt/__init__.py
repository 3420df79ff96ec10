"""SendGrid utilization pipeline core: settings, stream catalog, extract, loader, warehouse.

Public API for the other packages (the Connect page plugin, the dashboard, the demo, the DAGs):
:mod:`sendgrid_elt.settings` (names and paths), :mod:`sendgrid_elt.warehouse` (where the data
is), :mod:`sendgrid_elt.connection_health` (tenant health and alerts), :mod:`sendgrid_elt.catalog`
(the streams), :mod:`sendgrid_elt.stream_scopes` (the scopes they need),
:mod:`sendgrid_elt.tenants` (tenant discovery) and :mod:`sendgrid_elt.assets`. Everything else
is internal to the pipeline.
"""
