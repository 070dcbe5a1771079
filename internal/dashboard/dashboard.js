(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('config').textContent || '{}');
  var base = typeof cfg.base === 'string' && cfg.base !== '' ? cfg.base
    : location.pathname.replace(/\/dashboard\/?$/, '');
  var metricsURL = base.replace(/\/+$/, '') + '/metrics';
  var headers = { Accept: 'application/json' };
  var key = new URLSearchParams(location.hash.slice(1)).get('key');
  if (key) headers.Authorization = 'Bearer ' + key;
  var MAX_ROWS = 50;

  function $(id) { return document.getElementById(id); }
  function set(id, text) { $(id).textContent = text; }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }
  function group(s) { return s.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function fmtInt(v) { return group(String(Math.round(num(v)))); }
  function fmtCompact(v) {
    v = num(v);
    if (v >= 1e9) return (v / 1e9).toFixed(2) + 'B';
    if (v >= 1e6) return (v / 1e6).toFixed(2) + 'M';
    if (v >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    return fmtInt(v);
  }
  function fmtUSD(v) {
    v = num(v);
    if (v >= 1) { var p = v.toFixed(2).split('.'); return '$' + group(p[0]) + '.' + p[1]; }
    if (v > 0) return '$' + v.toFixed(4);
    return '$0.00';
  }
  function fmtMS(v) {
    v = num(v);
    if (v <= 0) return '–';
    if (v < 10) return v.toFixed(1) + ' ms';
    if (v < 1000) return Math.round(v) + ' ms';
    return (v / 1000).toFixed(2) + ' s';
  }
  function fmtPct(v) { return (num(v) * 100).toFixed(1) + '%'; }
  function fmtDuration(sec) {
    sec = Math.floor(num(sec));
    var d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + s + 's';
    return s + 's';
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function fill(tableId, rows, columns, empty) {
    var body = $(tableId).tBodies[0];
    var frag = document.createDocumentFragment();
    rows = rows || [];
    rows.slice(0, MAX_ROWS).forEach(function (r) {
      var tr = document.createElement('tr');
      columns.forEach(function (c) { cell(tr, c[0](r), c[1] ? c[1](r) : ''); });
      frag.appendChild(tr);
    });
    if (rows.length === 0 || rows.length > MAX_ROWS) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.colSpan = columns.length;
      td.className = 'empty';
      td.textContent = rows.length === 0 ? empty : '… ' + fmtInt(rows.length - MAX_ROWS) + ' more';
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
  }

  function errors(r) { return fmtInt(r.errors) + (r.errors ? ' (' + fmtPct(r.error_rate) + ')' : ''); }
  function errClass(r) { return r.errors ? 'bad' : ''; }
  function cache(r) { return r.requests ? fmtPct(r.cache_hit_rate) : '–'; }
  var p50 = function (r) { return fmtMS(r.latency && r.latency.p50_ms); };
  var p99 = function (r) { return fmtMS(r.latency && r.latency.p99_ms); };
  var name = function () { return 'name'; };

  function sparkline(series) {
    var pts = (series || []).map(num);
    if (pts.length < 2) pts = [0, 0];
    var peak = Math.max.apply(null, pts.concat([1]));
    var w = 600, h = 90, pad = 6, step = w / (pts.length - 1);
    var coords = pts.map(function (v, i) {
      return (i * step).toFixed(1) + ',' + (h - pad - (v / peak) * (h - 2 * pad)).toFixed(1);
    });
    $('spark-line').setAttribute('points', coords.join(' '));
    $('spark-area').setAttribute('d', 'M0,' + h + ' L' + coords.join(' L') + ' L' + w + ',' + h + ' Z');
    var last10 = pts.slice(-11, -1), avg = last10.reduce(function (a, b) { return a + b; }, 0) / Math.max(last10.length, 1);
    set('spark-label', 'last 2 minutes · peak ' + fmtInt(Math.max.apply(null, pts)) + '/s · now ' + avg.toFixed(1) + '/s');
    return avg;
  }

  function render(s) {
    var t = s.totals || {};
    var lat = t.latency || {}, ttfb = t.time_to_first_byte || {};
    var rps = sparkline(s.requests_per_second);
    set('total-requests', fmtInt(t.requests));
    set('total-rps', rps.toFixed(1) + ' req/s (10 s average)');
    set('total-errors', fmtInt(t.errors));
    set('total-error-rate', fmtPct(t.error_rate) + ' of requests · ' + fmtInt(t.client_errors) + ' 4xx');
    set('total-latency', fmtMS(lat.p50_ms) + ' / ' + fmtMS(lat.p99_ms));
    set('total-ttfb', 'p95 ' + fmtMS(lat.p95_ms) + ' · first byte p50 ' + fmtMS(ttfb.p50_ms));
    set('total-tokens', fmtCompact(t.input_tokens) + ' / ' + fmtCompact(t.output_tokens));
    set('total-limits', fmtInt(t.rate_limited) + ' rate limited');
    set('total-cost', fmtUSD(t.cost_usd));
    set('total-failovers', fmtInt(t.failovers) + ' failovers · ' + fmtInt(t.breaker_open) + ' breaker opens');
    set('total-cache', t.requests ? fmtPct(t.cache_hit_rate) : '–');
    set('total-cache-hits', fmtInt(t.cache_hits) + ' hits');
    set('uptime', fmtDuration(s.uptime_seconds));

    fill('providers', s.providers, [
      [function (r) { return r.provider || '(none)'; }, name],
      [function (r) { return fmtInt(r.requests); }], [errors, errClass], [p50], [p99],
      [function (r) { return fmtInt(r.input_tokens); }], [function (r) { return fmtInt(r.output_tokens); }],
      [function (r) { return fmtUSD(r.cost_usd); }], [cache],
      [function (r) { return fmtInt(r.breaker_open); }, function (r) { return r.breaker_open ? 'bad' : ''; }]
    ], 'no requests yet');
    fill('models', s.models, [
      [function (r) { return r.provider || '(none)'; }],
      [function (r) { return r.model || '(none)'; }, name],
      [function (r) { return fmtInt(r.requests); }], [errors, errClass], [p50], [p99],
      [function (r) { return fmtInt(r.input_tokens); }], [function (r) { return fmtInt(r.output_tokens); }],
      [function (r) { return fmtUSD(r.cost_usd); }], [cache]
    ], 'no requests yet');
    fill('keys', s.keys, [
      [function (r) { return r.key_id || '(no key)'; }, name],
      [function (r) { return fmtInt(r.requests); }],
      [function (r) { return fmtInt(r.errors); }, errClass],
      [function (r) { return fmtInt(r.client_errors); }],
      [function (r) { return fmtInt(r.rate_limited); }],
      [function (r) { return fmtInt(r.input_tokens); }], [function (r) { return fmtInt(r.output_tokens); }],
      [function (r) { return fmtUSD(r.cost_usd); }]
    ], 'no requests yet');

    var st = $('status');
    st.className = 'status ok';
    st.textContent = 'live · ' + new Date(s.time || Date.now()).toLocaleTimeString();
  }

  function fail(err) {
    var st = $('status');
    st.className = 'status err';
    st.textContent = 'offline · ' + (err && err.message ? err.message : String(err));
  }

  function poll() {
    fetch(metricsURL, { headers: headers, cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('GET ' + metricsURL + ': HTTP ' + res.status);
        return res.json();
      })
      .then(render, fail)
      .catch(fail)
      .then(function () { setTimeout(poll, cfg.interval_ms || 2000); });
  }

  if (cfg.snapshot) {
    try { render(cfg.snapshot); } catch (e) { fail(e); }
  }
  poll();
})();
