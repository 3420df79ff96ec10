"""HTML of the Connect page (Jinja2 with autoescaping; no external assets).

Templates never receive a secret: tenants are :class:`~.tenants.Tenant` summaries, health rows
have no tokens, and the only capability ever rendered is a freshly created invite link, shown
once to the Airflow user who created it. The one script, :data:`INVITE_SCRIPT`, moves an invite
link's token from the URL fragment into a form body; the page that has it allows only that
script (:data:`INVITE_SCRIPT_CSP`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from jinja2 import DictLoader, Environment, select_autoescape
from sendgrid_hook.display import human_instant

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2933;max-width:72rem}
h1{font-size:1.4rem} table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #d9e2ec;vertical-align:top}
.status{font-weight:600;padding:.1rem .45rem;border-radius:.3rem;white-space:nowrap}
.connected{background:#e3f9e5;color:#05400a}.degraded{background:#fff3c4;color:#513c06}
.needs_reconnect{background:#ffe3e3;color:#610404}.never_connected,.unknown{background:#e4e7eb}
.flash{padding:.6rem .8rem;border-radius:.3rem;margin:.8rem 0}
.ok{background:#e3f9e5}.warn{background:#fff3c4}.error{background:#ffe3e3}
ul.unreadable{margin:.3rem 0 0 1.1rem;padding:0;font-size:.85rem}
form.inline{display:inline} button{cursor:pointer;margin:.1rem} td.when{white-space:nowrap}
.muted{color:#616e7c;font-size:.85rem} .highlight{background:#f0f4f8}
fieldset{border:1px solid #d9e2ec;margin:.5rem 0} label{display:block;margin:.3rem 0}
input[type=text],input[type=password],input[type=url]{width:22rem}
</style></head><body>
{% block body %}{% endblock %}
</body></html>"""

_FLASH = """{% if flash %}<div id="flash" class="flash {{ flash.kind }}" role="status">
<p>{{ flash.text }}</p>
{% if flash.disabled %}<p>Scopes not granted and what they disable:</p><ul id="missing-scopes">
{% for scope, streams in flash.disabled.items() %}<li><code>{{ scope }}</code>: {{
 streams|join(", ") if streams else "no stream (reported only)" }}</li>{% endfor %}</ul>
{% endif %}</div>{% endif %}"""

_LIST = (
    """{% extends "base" %}{% block body %}
<h1>SendGrid connections</h1>
<p class="muted">Each SendGrid organization is one Airflow connection of type
<code>sendgrid</code>. Connect or reconnect it here; health comes from the last pipeline run.</p>
"""
    + _FLASH
    + """
{% if invite %}<div id="invite" class="flash ok"><p>Send this link to the SendGrid admin of
<strong><bdi>{{ invite.name }}</bdi></strong>. It works once, only for this connection, until
{{ invite.expires }} (UTC), or until a credential is saved for it; it replaces any earlier
link:</p>
<input id="invite-link" type="text" readonly value="{{ invite.url }}" style="width:100%"></div>
{% endif %}
{% if focus_missing %}<div id="focus-missing" class="flash warn"><p>No connection
<strong>{{ focus }}</strong> that you may edit is stored in Airflow's metadata database. If it is
defined elsewhere (an <code>AIRFLOW_CONN_…</code> variable or a secrets backend), reconnect it
there: Airflow reads those first, so a credential saved here under the same id would not be
used.</p></div>{% endif %}
<table id="tenants"><thead><tr><th>Organization</th><th>Auth</th><th>Health</th>
<th>Since</th><th title="The last check or sync in which the credential worked">Last worked
</th><th>Actions</th></tr></thead><tbody>
{% for row in rows %}{% set t = row.tenant %}{% set h = row.health %}
<tr id="tenant-{{ t.conn_id }}" {% if t.conn_id == focus %}class="highlight"{% endif %}>
<td><strong>{{ t.display_name }}</strong><br><span class="muted">{{ t.conn_id }}</span>
{% if h.account %}<br><span id="account-{{ t.conn_id }}" class="muted">SendGrid {{ h.account
 }}</span>{% endif %}
{% if t.config_error %}<br><span id="config-error-{{ t.conn_id }}" class="muted" role="alert">{{
 t.config_error }}</span>{% endif %}
{% if h.duplicate_of %}<br><span id="duplicate-{{ t.conn_id }}" class="muted">Same SendGrid
 account as <a href="#tenant-{{ h.duplicate_of }}">{{ h.duplicate_of }}</a>, connected first: the
 reports count the account once. Delete one of the two connections (Admin → Connections) to
 sync it once.</span>{% elif h.subuser_of %}<br><span id="subuser-{{ t.conn_id }}"
 class="muted">A subuser of <a href="#tenant-{{ h.subuser_of }}">{{ h.subuser_of }}</a>: the
 reports count its sends and plan there.</span>{% endif %}</td>
<td>{{ "OAuth 2.0" if t.auth_type == "oauth2" else "API key" }}</td>
<td><span id="status-{{ t.conn_id }}" class="status {{ h.status }}"
 data-status="{{ h.status }}">{{ h.label }}</span>
{% if h.status == "needs_reconnect" and (h.last_error or h.reason) %}<br><span
 id="reason-{{ t.conn_id }}" class="muted">{{ h.last_error or h.reason }}</span>{% endif %}
{% set gaps = h.unreadable %}{% if gaps %}<ul id="unreadable-{{ t.conn_id }}"
 class="unreadable" aria-label="Missing scopes and the data they disable">
{% for scope, streams in gaps.items() %}<li><code>{{ scope }}</code>: {{
 streams|join(", ") if streams else "no stream (reported only)" }}</li>{% endfor %}</ul>
{% elif h.missing_scopes %}<br><span class="muted">missing: {{ h.missing_scopes|join(", ")
}}</span>{% endif %}</td>
<td class="when">{{ h.since|when }}</td><td class="when">{{ h.last_success_at|when }}</td>
<td>
{% if t.oauth_ready %}
<form class="inline" method="post" target="_top"
 action="{{ prefix }}/connections/{{ t.conn_id|segment }}/connect">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button id="connect-{{ t.conn_id }}" type="submit">{{ "Reconnect" if row.connected_before
 else "Connect" }}</button></form>
{% endif %}
<form class="inline" method="post" action="{{ prefix }}/connections/{{ t.conn_id|segment }}/test">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button id="test-{{ t.conn_id }}" type="submit">Test</button></form>
{% if t.oauth_ready %}
<form class="inline" method="post" action="{{ prefix }}/connections/{{ t.conn_id|segment }}/invite">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button id="invite-{{ t.conn_id }}" type="submit">Invite your SendGrid admin</button></form>
{% endif %}
<details {% if not t.oauth_ready %}open{% endif %}><summary>{% if t.oauth_ready
 %}Use an API key instead{% elif row.connected_before %}Replace the API key{% else
 %}Connect with an API key{% endif %}</summary>
<form method="post" action="{{ prefix }}/connections/{{ t.conn_id|segment }}/api-key">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label>Restricted API key (read scopes)
<input id="api-key-{{ t.conn_id }}" name="api_key" type="password" autocomplete="off"
 required></label>
<button id="save-key-{{ t.conn_id }}" type="submit">{{ "Reconnect" if row.connected_before
 and not t.oauth_ready else "Verify and save" }}</button></form></details>
</td></tr>
{% else %}<tr><td colspan="6">No <code>sendgrid</code> connection yet.</td></tr>{% endfor %}
</tbody></table>

<h2>Connect a new SendGrid organization</h2>
{% set typed = (flash.form if flash and flash.form else {}) %}
<form id="new-tenant" method="post" action="{{ prefix }}/connections" target="_top">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label>Connection id <input id="new-conn-id" name="conn_id" type="text" required
 pattern="[A-Za-z0-9_.\\-]{1,200}" value="{{ typed.conn_id or '' }}"></label>
<label>Organization name <input id="new-display-name" name="display_name" type="text"
 value="{{ typed.display_name or '' }}"></label>
<label>Region <select id="new-region" name="region">
{% for value, host in regions.items() %}<option value="{{ value }}"{% if typed.region == value
 %} selected{% endif %}>{{ value }} ({{ host.split("://")[1] }})</option>{% endfor %}
</select></label>
<label>API base URL override (leave empty for the region's host; for a proxy)
<input id="new-host" name="host" type="url" value="{{ typed.host or '' }}"></label>
<fieldset><legend>OAuth 2.0 (recommended when available)</legend>
<label>Client id <input id="new-client-id" name="client_id" type="text"
 value="{{ typed.client_id or '' }}"></label>
<label>Client secret <input id="new-client-secret" name="client_secret" type="password"
 autocomplete="off"></label></fieldset>
<fieldset><legend>…or a restricted API key</legend>
<label>API key <input id="new-api-key" name="api_key" type="password" autocomplete="off">
</label></fieldset>
<button id="connect-new" type="submit">Connect</button>
</form>
{% endblock %}"""
)

_MESSAGE = (
    """{% extends "base" %}{% block body %}<h1>{{ title }}</h1>"""
    + _FLASH
    + """{% if login %}<p><a id="login" href="{{ login }}"{% if login_new_tab %} target="_blank"
rel="noopener"{% endif %}>Sign in</a></p>{% endif %}
{% if back %}<p><a id="back" href="{{ back }}">Back to SendGrid connections</a></p>
{% endif %}{% endblock %}"""
)

_INVITE = """{% extends "base" %}{% block body %}
<h1>Connect <bdi>{{ name }}</bdi> to the SendGrid usage report</h1>
<p>You were asked to authorize <strong>read-only</strong> access to the SendGrid organization
<strong><bdi>{{ name }}</bdi></strong>. You will sign in at SendGrid and approve the access;
nothing else is shared. This link works once.</p>
<p>The sign-in page is at <strong id="sign-in-host">{{ sign_in_host }}</strong>: sign in only
if your browser shows that address.</p>
<form method="post" action="{{ action }}"><input type="hidden" name="csrf" value="{{ csrf }}">
<button id="invite-continue" type="submit">Continue to SendGrid</button></form>
{% endblock %}"""


#: Reads the token from the fragment, drops it from the address bar and history entry, and
#: posts it; without a token it says the link is incomplete.
INVITE_SCRIPT = """
(function () {
  var token = window.location.hash.slice(1);
  window.history.replaceState(null, "", window.location.pathname);
  var form = document.getElementById("invite-open");
  if (token) {
    form.elements.token.value = token;
    form.submit();
  } else {
    document.getElementById("invite-incomplete").hidden = false;
  }
})();
"""
#: ``script-src`` of the page holding :data:`INVITE_SCRIPT`: that script and nothing else.
_INVITE_SCRIPT_HASH = base64.b64encode(hashlib.sha256(INVITE_SCRIPT.encode()).digest()).decode()
INVITE_SCRIPT_CSP = f"script-src 'sha256-{_INVITE_SCRIPT_HASH}'"

_INVITE_OPEN = (
    """{% extends "base" %}{% block body %}
<h1>SendGrid connection invitation</h1>
<form id="invite-open" method="post" action="{{ action }}">
<input type="hidden" name="token" value="">
<noscript><p>This page needs JavaScript to read the invitation from its link. Without it, paste
the whole link you received:</p>
<label>Invitation link <input id="invite-link-pasted" name="link" type="text" autocomplete="off"
 required></label><button type="submit">Open the invitation</button></noscript></form>
<p id="invite-incomplete" class="flash error" hidden>This invitation link is incomplete: open
the whole link you received (it ends with a long code after a "#").</p>
<script>"""
    + INVITE_SCRIPT
    + """</script>{% endblock %}"""
)

_TEMPLATES = {"base": _BASE, "list": _LIST, "message": _MESSAGE, "invite": _INVITE,
              "invite_open": _INVITE_OPEN}  # fmt: skip
_env = Environment(
    loader=DictLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_env.filters["when"] = human_instant
# A connection id in a URL path: Airflow ids may hold '/', '#', ':', a backslash...; all are
# percent-encoded (the routes take the id with a path converter: a '/' still reaches its row).
_env.filters["segment"] = lambda value: quote(str(value), safe="")


def render(template: str, **context: Any) -> str:
    """Render one of ``list``, ``message``, ``invite``, ``invite_open``."""
    return _env.get_template(template).render(**context)
