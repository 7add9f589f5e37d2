// kvstream landing page: keeps the values table current from /events and appends every event to the log.
// The page was rendered at revision R (data-revision); we open /events?since=R on the host the page came from,
// apply each change once, in revision order, and after a drop reconnect with since=<last revision applied>.
// Data only ever reaches the DOM through textContent / text nodes, never as HTML.
// A key with a time to live (data-expires, or "expires" on its put) shows the time it has left, counted down each
// second; its expiry arrives as a value_deleted with "expired":true, marked as such in the log.
// With a key prefix (data-prefix, from /?prefix=P) the server rendered only those keys and the stream is
// /events?since=R&prefix=P; the filter input loads /?prefix=<new prefix>, a fresh table at a fresh revision.
(function () {
  'use strict';

  var app = document.getElementById('app');
  var tbody = document.querySelector('#values tbody');
  var emptyNote = document.getElementById('empty');
  var keyCount = document.getElementById('key-count');
  var revisionText = document.getElementById('revision');
  var stateBadge = document.getElementById('state');
  var log = document.getElementById('log');
  var logEmpty = document.getElementById('log-empty');
  var curlExample = document.getElementById('curl-example');

  var PREVIEW = Number(app.dataset.preview) || 200;
  var MAX_KEYS = Number(app.dataset.maxKeys) || 1000;
  var TRUNCATED = app.dataset.truncated === 'true';
  var MAX_LOG = 200;
  var MAX_BACKOFF_MS = 10000;

  var revision = Number(app.dataset.revision) || 0;
  var prefix = app.dataset.prefix || '';
  var keys = [];            // sorted like the server sorts (UTF-16 code units, which is what < compares)
  var rows = new Map();     // key -> <tr>
  Array.prototype.forEach.call(tbody.rows, function (tr) {
    keys.push(tr.dataset.key);
    rows.set(tr.dataset.key, tr);
  });

  var socket = null;
  var attempt = 0;
  var retryTimer = null;
  var reloading = false;

  if (curlExample) {
    curlExample.textContent = 'curl -X PUT ' + location.origin + '/values/mykey -d myvalue';
  }

  // ---- values table ----------------------------------------------------------------------------------------

  function lowerBound(key) {
    var lo = 0;
    var hi = keys.length;
    while (lo < hi) {
      var mid = (lo + hi) >>> 1;
      if (keys[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  function fillValue(cell, value) {
    cell.textContent = '';
    var clipped = value.length > PREVIEW;
    var end = PREVIEW;
    if (clipped && /[\uD800-\uDBFF]/.test(value.charAt(end - 1))) {
      end--;
    }
    cell.appendChild(document.createTextNode(clipped ? value.slice(0, end) : value));
    if (clipped) {
      var more = document.createElement('span');
      more.className = 'more';
      more.textContent = '\u2026 ' + value.length + ' chars';
      cell.appendChild(more);
    }
  }

  function newRow(key) {
    var tr = document.createElement('tr');
    tr.dataset.key = key;
    var keyCell = tr.insertCell();
    keyCell.className = 'key';
    keyCell.appendChild(document.createTextNode(key));
    tr.insertCell().className = 'value';
    tr.insertCell().className = 'num';
    return tr;
  }

  // ---- time to live ------------------------------------------------------------------------------------------

  function remaining(ms) {
    var s = Math.ceil(ms / 1000);
    if (s <= 0) {
      return 'expiring';
    }
    if (s < 120) {
      return 'expires in ' + s + 's';
    }
    if (s < 3600) {
      return 'expires in ' + Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    }
    return 'expires in ' + Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  }

  function showTtl(tr) {
    var badge = tr.cells[0].querySelector('.ttl');
    if (!tr.dataset.expires) {
      if (badge) {
        badge.remove();
      }
      return;
    }
    if (!badge) {
      badge = span('ttl', '');
      tr.cells[0].appendChild(badge);
    }
    var deadline = new Date(tr.dataset.expires);
    badge.title = 'expires at ' + deadline.toLocaleString();
    badge.textContent = remaining(deadline.getTime() - Date.now());
  }

  function setExpires(tr, expires) {
    if (expires) {
      tr.dataset.expires = expires;
    } else {
      delete tr.dataset.expires;
    }
    showTtl(tr);
  }

  function tick() {
    Array.prototype.forEach.call(tbody.querySelectorAll('tr[data-expires]'), showTtl);
  }

  function flash(tr) {
    tr.classList.remove('changed');
    void tr.offsetWidth; // restart the animation
    tr.classList.add('changed');
  }

  function put(key, value, rev, expires) {
    var tr = rows.get(key);
    if (!tr) {
      var at = lowerBound(key);
      if (TRUNCATED && at >= keys.length) {
        return; // beyond the keys this page shows
      }
      tr = newRow(key);
      tbody.insertBefore(tr, at < keys.length ? rows.get(keys[at]) : null);
      keys.splice(at, 0, key);
      rows.set(key, tr);
      if (keys.length > MAX_KEYS) {
        var last = keys.pop();
        rows.get(last).remove();
        rows.delete(last);
      }
    }
    fillValue(tr.cells[1], value);
    tr.cells[2].textContent = String(rev);
    setExpires(tr, expires);
    flash(tr);
    updateCount();
  }

  function remove(key) {
    var tr = rows.get(key);
    if (!tr) {
      return;
    }
    tr.remove();
    rows.delete(key);
    keys.splice(lowerBound(key), 1);
    updateCount();
  }

  function updateCount() {
    keyCount.textContent = TRUNCATED ? 'first ' + keys.length + ' keys' : keys.length + (keys.length === 1 ? ' key' : ' keys');
    emptyNote.hidden = keys.length > 0;
  }

  // ---- event log -------------------------------------------------------------------------------------------

  function span(className, text) {
    var s = document.createElement('span');
    s.className = className;
    s.textContent = text;
    return s;
  }

  function short(text) {
    return text.length > 80 ? text.slice(0, 80) + '\u2026' : text;
  }

  function appendLog(kind, label, parts, rev) {
    var li = document.createElement('li');
    li.className = 'entry entry-' + kind;
    var time = document.createElement('time');
    var now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString();
    li.appendChild(time);
    li.appendChild(span('tag', label));
    var detail = document.createElement('span');
    detail.className = 'detail';
    parts.forEach(function (part) {
      detail.appendChild(part);
    });
    li.appendChild(detail);
    li.appendChild(span('rev', rev === undefined ? '' : '#' + rev));
    log.insertBefore(li, log.firstChild);
    while (log.children.length > MAX_LOG) {
      log.lastChild.remove();
    }
    logEmpty.hidden = true;
  }

  function code(className, text) {
    var c = document.createElement('code');
    c.className = className;
    c.textContent = text;
    return c;
  }

  // ---- messages --------------------------------------------------------------------------------------------

  function onMessage(message) {
    attempt = 0; // the server is answering: the next drop starts the backoff afresh
    switch (message.type) {
      case 'domain_event': {
        var event = message.event || {};
        if (typeof event.revision !== 'number' || event.revision <= revision) {
          return; // already applied (the server never sends these; this is belt and braces)
        }
        if (event.event === 'value_put') {
          put(event.key, event.value, event.revision, event.expires);
          var parts = [code('k', event.key), span('arrow', '='), code('v', short(event.value))];
          if (event.expires) {
            parts.push(span('ttl', 'until ' + new Date(event.expires).toLocaleTimeString()));
          }
          appendLog('put', message.value, parts, event.revision);
        } else if (event.event === 'value_deleted') {
          remove(event.key);
          if (event.expired === true) {
            appendLog('expire', message.value, [code('k', event.key), span('ttl', 'expired')], event.revision);
          } else {
            appendLog('delete', message.value, [code('k', event.key)], event.revision);
          }
        }
        revision = event.revision;
        revisionText.textContent = String(revision);
        break;
      }
      case 'connection_opened':
      case 'connection_closed':
        appendLog(message.type === 'connection_opened' ? 'open' : 'close', message.value, [code('id', message.from)]);
        break;
      case 'resync_required':
        // The events after our revision are no longer stored: start again from a fresh page.
        reloading = true;
        setState('reloading', 'reloading');
        appendLog('error', 'Resync required', [span('text', 'reloading the page')], message.revision);
        location.reload();
        break;
      case 'error':
        appendLog('error', 'Error', [span('text', String(message.value))]);
        break;
      default:
        break;
    }
  }

  // ---- connection ------------------------------------------------------------------------------------------

  function setState(state, text) {
    stateBadge.className = 'badge state-' + state;
    stateBadge.textContent = text;
  }

  // With protect-reads the page itself was opened with ?access_token=…: the stream needs the same token.
  var accessToken = new URLSearchParams(location.search).get('access_token');

  function eventsUrl() {
    var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + location.host + '/events?since=' + revision
        + (prefix ? '&prefix=' + encodeURIComponent(prefix) : '')
        + (accessToken ? '&access_token=' + encodeURIComponent(accessToken) : '');
  }

  // The page's CSP has form-action 'none': the filter navigates from here, keeping the token.
  document.getElementById('filter').addEventListener('submit', function (e) {
    e.preventDefault();
    var query = new URLSearchParams();
    var wanted = document.getElementById('prefix').value;
    if (wanted) {
      query.set('prefix', wanted);
    }
    if (accessToken) {
      query.set('access_token', accessToken);
    }
    var search = query.toString();
    location.assign('/' + (search ? '?' + search : ''));
  });

  function connect() {
    retryTimer = null;
    setState(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting' : 'reconnecting');
    var ws;
    try {
      ws = new WebSocket(eventsUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener('open', function () {
      setState('live', 'live');
    });
    ws.addEventListener('message', function (e) {
      var message;
      try {
        message = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      onMessage(message);
    });
    ws.addEventListener('close', function () {
      if (socket !== ws) {
        return;
      }
      socket = null;
      if (!reloading) {
        scheduleReconnect();
      }
    });
  }

  function scheduleReconnect() {
    if (retryTimer !== null) {
      return;
    }
    var base = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempt));
    var delay = Math.round(base / 2 + Math.random() * base / 2);
    attempt++;
    setState('reconnecting', 'reconnecting in ' + Math.max(1, Math.round(delay / 1000)) + 's');
    retryTimer = setTimeout(connect, delay);
  }

  window.addEventListener('online', function () {
    if (socket === null && retryTimer !== null) {
      clearTimeout(retryTimer);
      connect();
    }
  });

  tick();
  setInterval(tick, 1000);
  connect();
}());
