"""Compatibility shim for the local cluster: celery 5.7 removed ``celery.backends.database.retry``.

``apache-airflow-providers-celery`` 3.26.0 imports ``retry`` from ``celery.backends.database`` at
module level, so with the pinned ``celery==5.7.0`` every CeleryExecutor process (scheduler and
workers) fails at import. The fix is a pin (``celery==5.6.3``, see docs/deploy.md); until it
lands, :mod:`deploy.local_cluster` puts this directory on ``PYTHONPATH`` of the cluster's
processes (only when the installed celery lacks ``retry``), and this module restores a
``retry`` decorator with celery 5.6.3's behaviour. It does nothing when celery has ``retry``.
"""

from __future__ import annotations


def _install() -> None:
    try:
        import celery.backends.database as database
    except Exception:  # celery or SQLAlchemy missing: nothing to patch
        return
    if hasattr(database, "retry"):
        return

    import functools
    import logging

    from sqlalchemy.exc import DatabaseError, InterfaceError, InvalidRequestError

    logger = logging.getLogger("celery.backends.database")
    retryable = (DatabaseError, InterfaceError, InvalidRequestError)

    def retry(fun):
        @functools.wraps(fun)
        def _inner(*args, **kwargs):
            max_retries = kwargs.pop("max_retries", 3)
            for retries in range(max_retries):
                try:
                    return fun(*args, **kwargs)
                except retryable:
                    logger.warning(
                        "Failed operation %s.  Retrying %s more times.",
                        fun.__name__,
                        max_retries - retries - 1,
                        exc_info=True,
                    )
                    if retries + 1 >= max_retries:
                        raise
            return None

        return _inner

    database.retry = retry


_install()
