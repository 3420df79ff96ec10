"""Reading Airflow Variables and Connections so that "cannot be read" is never "absent".

Inside a task the SDK's ``Variable.get(key, default=None)`` returns the default, and
``Connection.get`` raises ``AirflowNotFoundException``, on *any* failure: the execution-API
secrets backend turns an error answer of the API server (down, restarting, timing out) into
"not found", and the lookup logs another backend's exception at DEBUG and goes on. A caller
that acts on absence then acts wrongly: alerts sent to nobody counted as delivered, a tenant
marked removed and left out of the reports, a spent OAuth refresh token sent again. This
module is the one place that tells the two apart:

* :func:`ask_supervisor`: a Variable as the execution API holds it (the one a task wrote);
* :func:`read_variable`: a Variable from every secrets backend in Airflow's order
  (``AIRFLOW_VAR_*``, a configured external backend, the execution API in a task);
* :func:`read_connection`: ``Connection.get``, with a "not found" confirmed backend by backend.

Each raises :class:`UnreadableError` for a failure, and reports absence (``None``, or
``AirflowNotFoundException`` for a connection) only when every backend answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Connection


class UnreadableError(RuntimeError):
    """A Variable or Connection could not be read (an error answer or a broken channel).

    The message names what was read, where and the kind of failure (:attr:`what`), never a
    value.
    """

    def __init__(self, name: str, source: str, what: str) -> None:
        """``name``: "Variable x" or "connection x"; ``source``: where it was asked."""
        super().__init__(f"{name} could not be read from {source} ({what})")
        self.name, self.source, self.what = name, source, what


def in_task() -> bool:
    """Whether this process runs a task (or a callback) with the supervisor's channel."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover - the SDK ships with Airflow 3
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def _ask(message: Any, found: type, not_found: str, name: str) -> Any:
    """The supervisor's answer to ``message`` if a ``found``; ``None`` if ``not_found``.

    Raises:
        UnreadableError: Any other answer (an API server error, a denial, a broken channel).
    """
    from airflow.sdk.exceptions import AirflowRuntimeError
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import ErrorResponse

    try:
        answer: Any = task_runner.SUPERVISOR_COMMS.send(message)
    except AirflowRuntimeError as exc:  # the supervisor's error frame
        answer = exc.error
    except Exception as exc:
        answer = exc
    if isinstance(answer, found):
        return answer
    if isinstance(answer, ErrorResponse):
        if answer.error.value == not_found:
            return None
        what = answer.error.value
    else:
        what = type(answer).__name__
    raise UnreadableError(name, "the execution API", what)


def ask_supervisor(key: str) -> str | None:
    """The Variable as the execution API holds it; ``None`` only when it does not exist.

    Raises:
        UnreadableError: Any answer but the value or ``VARIABLE_NOT_FOUND``.
    """
    from airflow.sdk.execution_time.comms import GetVariable, VariableResult

    answer = _ask(GetVariable(key=key), VariableResult, "VARIABLE_NOT_FOUND", f"Variable {key}")
    return None if answer is None else answer.value


def _backend_value(backend: Any, method: str, name: str, **kwargs: Any) -> Any:
    """``backend.<method>(**kwargs)``, its exception an :class:`UnreadableError`."""
    try:
        return getattr(backend, method)(**kwargs)
    except Exception as exc:
        raise UnreadableError(name, type(backend).__name__, type(exc).__name__) from None


def read_variable(key: str) -> str | None:
    """The Variable's text from the first secrets backend that has it; ``None``: none has it.

    The backends are those the SDK's ``Variable.get`` asks, in its order; the execution API's
    is asked through :func:`ask_supervisor`, so its errors are not read as absence. Not cached
    (callers read once per batch); the value is registered with the secret masker as the SDK
    registers it.

    Raises:
        UnreadableError: A backend failed before one had the Variable.
    """
    from airflow.sdk.execution_time.secrets.execution_api import ExecutionAPISecretsBackend
    from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded
    from airflow.sdk.log import mask_secret

    for backend in ensure_secrets_backend_loaded():
        if isinstance(backend, ExecutionAPISecretsBackend):
            value = ask_supervisor(key)
        else:
            value = _backend_value(backend, "get_variable", f"Variable {key}", key=key)
        if value is not None:
            mask_secret(str(value), key)  # as the SDK does: masked when the key names a secret
            return str(value)
    return None


def read_connection(conn_id: str) -> Connection:
    """``Connection.get(conn_id)``; its "not found" confirmed by asking each backend again.

    The found path is the SDK's own (its cache and secret masking); only a miss costs a second
    lookup per backend, which raises if one cannot answer.

    Raises:
        AirflowNotFoundException: Every backend answered that it has no such connection.
        UnreadableError: A backend could not answer (the run should fail and retry rather than
            take the connection for deleted).
    """
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection
    from airflow.sdk.execution_time.comms import ConnectionResult, GetConnection
    from airflow.sdk.execution_time.secrets.execution_api import ExecutionAPISecretsBackend
    from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException as missing:
        absent = missing
    name = f"connection {conn_id}"
    for backend in ensure_secrets_backend_loaded():
        if isinstance(backend, ExecutionAPISecretsBackend):
            message = GetConnection(conn_id=conn_id)
            found = _ask(message, ConnectionResult, "CONNECTION_NOT_FOUND", name)
        else:
            found = _backend_value(backend, "get_connection", name, conn_id=conn_id)
        if found is None:
            continue
        try:  # it answered this time: the SDK's lookup finds it too, unless the backend flaps
            return Connection.get(conn_id)
        except AirflowNotFoundException:
            raise UnreadableError(name, type(backend).__name__, "found, then not") from None
    raise absent
