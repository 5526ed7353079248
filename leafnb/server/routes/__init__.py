"""One router module per Leaf service; :data:`ROUTERS` is what the app includes, in order.

======================  =====================================  ==========================
module                  paths                                  Leaf service
======================  =====================================  ==========================
:mod:`.batches`         ``/batch…``                            operations: uploads
:mod:`.files`           ``/files…``                            operations: files, merge
:mod:`.operations`      ``/operations…``                       operations: field operations
:mod:`.assets`          ``/operations/{id}/machines…``,        operations: machines,
                        beta ``/users/{id}/machines…``         implements, operators,
                                                               sessions; beta assets
:mod:`.downloads`       ``/download/{token}``                  (leafnb: artifact links)
:mod:`.fields`          ``/fields``, ``/users/{id}/fields…``   fields (+ a field's
                                                               operation files)
:mod:`.configs`         ``/configs…``                          configs
:mod:`.alerts`          ``/alerts/webhooks…``                  alerts
======================  =====================================  ==========================

Within a module, fixed paths come before parameterised ones (``/files/merge`` before
``/files/{file_id}``): the first route that matches answers.
"""

from __future__ import annotations

from leafnb.server.routes import (
    alerts,
    assets,
    batches,
    configs,
    downloads,
    fields,
    files,
    operations,
)

__all__ = ["ROUTERS"]

ROUTERS = (
    batches.router,
    files.router,
    operations.router,
    assets.router,
    assets.beta_router,
    downloads.router,
    fields.router,
    configs.router,
    alerts.router,
)
