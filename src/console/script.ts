/**
 * The query console's script, served as /console/app.js (plain browser JavaScript, no build step, no
 * dependencies). Rules it keeps:
 *  - the token lives in sessionStorage (this tab only) and travels only in the Authorization header of
 *    fetch() calls to fixed same-origin paths: never in a URL, never in localStorage;
 *  - history (backend, SQL, params; never the token) is in localStorage, capped at HISTORY_MAX entries;
 *  - everything from the server is shown with textContent (no HTML is ever built from data).
 * Written without template literals so it can sit in this string as it is.
 */
export const CONSOLE_JS = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'sqlgate.console.token';
  var HISTORY_KEY = 'sqlgate.console.history';
  var HISTORY_MAX = 50;
  var NUMERIC = { SMALLINT: 1, INTEGER: 1, BIGINT: 1, DECIMAL: 1, FLOAT: 1, DOUBLE: 1 };
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
  function headers(json) {
    var h = { accept: 'application/json' };
    if (json) h['content-type'] = 'application/json';
    var t = token();
    if (t) h.authorization = 'Bearer ' + t;
    return h;
  }
  function setStatus(text) { $('status').textContent = text; }
  function clearOutput() {
    $('error').hidden = true;
    $('error').textContent = '';
    $('summary').textContent = '';
    $('result').textContent = '';
  }
  function showError(status, body) {
    var err = (body && body.error) || { code: 'HTTP_' + status, message: 'unexpected response' };
    var box = $('error');
    box.textContent = '';
    box.appendChild(el('span', err.code, 'code'));
    box.appendChild(document.createTextNode(' (HTTP ' + status + (err.class ? ', ' + err.class : '') + '): '));
    box.appendChild(document.createTextNode(err.message || ''));
    var extra = [];
    ['sqlState', 'position', 'constraint', 'hint'].forEach(function (k) {
      if (err[k] !== undefined) extra.push(k + ' ' + err[k]);
    });
    if (err.retryable) extra.push('retryable');
    if (err.requestId) extra.push('requestId ' + err.requestId);
    if (extra.length) box.appendChild(document.createTextNode('\n' + extra.join(' · ')));
    box.hidden = false;
  }
  function cellText(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function parseTiming(header) {
    var out = {};
    (header || '').split(',').forEach(function (part) {
      var bits = part.trim().split(';');
      var dur = bits.filter(function (b) { return b.indexOf('dur=') === 0; })[0];
      if (bits[0] && dur) out[bits[0]] = Number(dur.slice(4));
    });
    return out;
  }
  function renderResult(body, timing, roundTripMs) {
    var t = parseTiming(timing);
    var what = body.columns.length > 0
      ? body.rowCount + (body.rowCount === 1 ? ' row' : ' rows')
      : body.command + ': ' + body.affectedRows + ' affected';
    $('summary').textContent = what + ' · database ' + body.durationMs.toFixed(3) + ' ms' +
      (t.queue !== undefined ? ' · queue ' + t.queue + ' ms' : '') +
      (t.ser !== undefined ? ' · serialize ' + t.ser + ' ms' : '') +
      ' · round trip ' + roundTripMs.toFixed(1) + ' ms';
    var out = $('result');
    if (body.plan) {
      out.appendChild(el('pre', JSON.stringify(body.plan, null, 2), 'plan'));
      return;
    }
    if (body.columns.length === 0) return;
    var table = el('table');
    var head = el('tr');
    body.columns.forEach(function (c) {
      var th = el('th', c.name);
      th.appendChild(el('span', c.type + (c.dbType ? ' (' + c.dbType + ')' : ''), 'type'));
      head.appendChild(th);
    });
    var thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = el('tbody');
    body.rows.forEach(function (row) {
      var tr = el('tr');
      body.columns.forEach(function (c, i) {
        var text = cellText(Array.isArray(row) ? row[i] : row[c.name]);
        var cls = text === null ? 'null' : NUMERIC[c.type] ? 'num' : '';
        tr.appendChild(el('td', text === null ? 'NULL' : text, cls));
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    out.appendChild(table);
  }
  function loadHistory() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]'); } catch (e) { return []; }
  }
  function renderHistory() {
    var list = $('history');
    list.textContent = '';
    loadHistory().forEach(function (h) {
      var li = el('li', (h.backend ? '[' + h.backend + '] ' : '') + h.sql);
      li.title = h.sql + (h.params ? '\nparams: ' + h.params : '');
      li.addEventListener('click', function () {
        $('sql').value = h.sql;
        $('params').value = h.params || '';
        if (h.backend) $('backend').value = h.backend;
      });
      list.appendChild(li);
    });
  }
  function remember(entry) {
    var list = loadHistory().filter(function (h) {
      return !(h.sql === entry.sql && h.params === entry.params && h.backend === entry.backend);
    });
    list.unshift(entry);
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_MAX)));
    renderHistory();
  }
  async function loadBackends() {
    var select = $('backend');
    var keep = select.value;
    try {
      var res = await fetch('/v1/backends', { headers: headers(false), cache: 'no-store' });
      var body = await res.json();
      if (!res.ok) { showError(res.status, body); return; }
      select.textContent = '';
      body.backends.forEach(function (b) {
        var o = el('option', b.name + ' (' + b.driver + ')' + (b.default ? ' · default' : ''));
        o.value = b.name;
        if (b.default && !keep) o.selected = true;
        select.appendChild(o);
      });
      if (keep) select.value = keep;
    } catch (e) {
      showError(0, { error: { code: 'NETWORK', message: String(e) } });
    }
  }
  async function run() {
    clearOutput();
    var sql = $('sql').value;
    var paramsText = $('params').value.trim();
    var payload = { sql: sql };
    if (paramsText) {
      try { payload.params = JSON.parse(paramsText); } catch (e) {
        showError(0, { error: { code: 'BAD_PARAMS', message: 'params must be JSON: ' + e.message } });
        return;
      }
    }
    var backend = $('backend').value;
    if (backend) payload.backend = backend;
    if ($('explain').checked) payload.options = { explain: true };
    remember({ sql: sql, params: paramsText, backend: backend });
    setStatus('running…');
    var started = performance.now();
    try {
      var res = await fetch('/v1/execute', {
        method: 'POST', headers: headers(true), body: JSON.stringify(payload), cache: 'no-store',
      });
      var body = await res.json();
      var roundTrip = performance.now() - started;
      if (!res.ok) { showError(res.status, body); setStatus(''); return; }
      renderResult(body, res.headers.get('server-timing'), roundTrip);
      setStatus('');
    } catch (e) {
      setStatus('');
      showError(0, { error: { code: 'NETWORK', message: String(e) } });
    }
  }
  document.addEventListener('DOMContentLoaded', function () {
    $('token').value = token();
    $('auth').addEventListener('submit', function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      loadBackends();
    });
    $('forget-token').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      $('token').value = '';
    });
    $('run').addEventListener('click', run);
    $('sql').addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); }
    });
    $('clear-history').addEventListener('click', function () {
      localStorage.removeItem(HISTORY_KEY);
      renderHistory();
    });
    renderHistory();
    loadBackends();
  });
})();
`;
