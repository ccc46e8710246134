// opsgraph dashboard: one query for the current state, then two graphql-sse subscriptions (distinct
// connections mode: a POST with `Accept: text/event-stream` each) keep it live. No library, no other host.
(function () {
  "use strict";

  var endpoint = document.body.getAttribute("data-endpoint");
  var rows = {}; // engagement code -> readiness (with engagement and client)
  var parked = {}; // workflow id -> workflow

  var READINESS_FIELDS =
    "ready approvedUnbilledHours amount { amount currency } blockers { code message } " +
    "engagement { id code name client { name } }";
  var WORKFLOW_FIELDS = "id kind status failingStep startedAt";
  var INITIAL =
    "query Dashboard { invoiceReadiness { " + READINESS_FIELDS + " } " +
    "workflows(status: [PARKED], first: 100) { nodes { " + WORKFLOW_FIELDS + " } } }";
  var READINESS_CHANGED =
    "subscription DashboardReadiness { invoiceReadinessChanged { cause readiness { " + READINESS_FIELDS + " } } }";
  var WORKFLOW_CHANGED = "subscription DashboardWorkflows { workflowChanged { " + WORKFLOW_FIELDS + " } }";

  function headers(accept) {
    var h = { "Content-Type": "application/json", Accept: accept };
    var key = window.sessionStorage && window.sessionStorage.getItem("opsgraph-api-key");
    if (key) h["X-API-Key"] = key;
    return h;
  }

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  function money(m) {
    return Number(m.amount).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) +
      " " + m.currency;
  }

  function showErrors(errors) {
    var box = document.getElementById("errors");
    if (!errors || !errors.length) return;
    box.hidden = false;
    box.textContent = errors.map(function (e) {
      return (e.extensions && e.extensions.code ? e.extensions.code + ": " : "") + e.message;
    }).join("; ");
  }

  function setStatus(state) {
    var el = document.getElementById("status");
    el.textContent = state;
    el.className = "status " + state;
  }

  function renderReadiness(changedCode) {
    var list = Object.keys(rows).map(function (k) { return rows[k]; });
    list.sort(function (a, b) {
      var ca = a.engagement.client ? a.engagement.client.name : "";
      var cb = b.engagement.client ? b.engagement.client.name : "";
      return ca === cb ? (a.engagement.code < b.engagement.code ? -1 : 1) : (ca < cb ? -1 : 1);
    });
    var body = document.querySelector("#readiness tbody");
    body.textContent = "";
    var totals = {}, hours = 0, blocked = 0;
    list.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-engagement", r.engagement.code);
      if (r.engagement.code === changedCode) tr.className = "changed";
      tr.appendChild(text("td", r.engagement.client ? r.engagement.client.name : "", "client"));
      tr.appendChild(text("td", r.engagement.code + " \u00b7 " + r.engagement.name, "engagement"));
      tr.appendChild(text("td", r.ready ? "ready" : "not ready", "ready " + (r.ready ? "yes" : "no")));
      tr.appendChild(text("td", money(r.amount), "amount num"));
      tr.appendChild(text("td", r.approvedUnbilledHours.toFixed(2), "hours num"));
      var blockers = document.createElement("td");
      blockers.className = "blockers";
      r.blockers.forEach(function (b) {
        var c = text("code", b.code);
        c.title = b.message;
        blockers.appendChild(c);
        blockers.appendChild(document.createTextNode(" "));
      });
      tr.appendChild(blockers);
      body.appendChild(tr);
      hours += r.approvedUnbilledHours;
      if (r.ready) totals[r.amount.currency] = (totals[r.amount.currency] || 0) + Number(r.amount.amount);
      else blocked += 1;
    });
    document.getElementById("ready-total").textContent = Object.keys(totals).sort().map(function (c) {
      return money({ amount: totals[c], currency: c });
    }).join(" + ") || "0";
    document.getElementById("hours-total").textContent = hours.toFixed(2);
    document.getElementById("blocked-count").textContent = String(blocked);
  }

  function renderParked() {
    var body = document.querySelector("#parked tbody");
    body.textContent = "";
    var ids = Object.keys(parked).sort();
    ids.forEach(function (id) {
      var w = parked[id];
      var tr = document.createElement("tr");
      tr.setAttribute("data-workflow", id);
      tr.appendChild(text("td", id));
      tr.appendChild(text("td", w.kind));
      tr.appendChild(text("td", w.failingStep || ""));
      tr.appendChild(text("td", w.startedAt));
      body.appendChild(tr);
    });
    document.getElementById("parked-count").textContent = String(ids.length);
  }

  function onReadiness(event) {
    var r = event.readiness;
    rows[r.engagement.code] = r;
    renderReadiness(r.engagement.code);
  }

  function onWorkflow(w) {
    if (w.status === "PARKED") parked[w.id] = w;
    else delete parked[w.id];
    renderParked();
  }

  // graphql-sse, distinct connections mode: `event: next` carries one execution result; `complete` ends.
  function subscribe(query, onData) {
    var open = 0;
    function connect() {
      fetch(endpoint, {
        method: "POST",
        headers: headers("text/event-stream"),
        body: JSON.stringify({ query: query }),
      }).then(function (response) {
        if (!response.ok || !response.body) throw new Error("subscription refused: " + response.status);
        open += 1;
        setStatus("live");
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error("stream ended");
            buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
            var cut;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
              var block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              var name = "", data = "";
              block.split("\n").forEach(function (line) {
                if (line.indexOf("event:") === 0) name = line.slice(6).trim();
                else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
              });
              if (name === "next" && data) {
                var result = JSON.parse(data);
                showErrors(result.errors);
                if (result.data) onData(result.data);
              }
            }
            return pump();
          });
        }
        return pump();
      }).catch(function () {
        setStatus("down");
        window.setTimeout(connect, 3000); // reconnect; the next query refreshes what was missed
        window.setTimeout(load, 3000);
      });
    }
    connect();
  }

  function load() {
    return fetch(endpoint, {
      method: "POST",
      headers: headers("application/json"),
      body: JSON.stringify({ query: INITIAL }),
    }).then(function (r) { return r.json(); }).then(function (body) {
      showErrors(body.errors);
      var data = body.data || {};
      (data.invoiceReadiness || []).forEach(function (r) { rows[r.engagement.code] = r; });
      renderReadiness(null);
      parked = {};
      ((data.workflows && data.workflows.nodes) || []).forEach(function (w) { parked[w.id] = w; });
      renderParked();
      document.body.setAttribute("data-loaded", "true");
    });
  }

  load().then(function () {
    subscribe(READINESS_CHANGED, function (d) { onReadiness(d.invoiceReadinessChanged); });
    subscribe(WORKFLOW_CHANGED, function (d) { onWorkflow(d.workflowChanged); });
  });
})();
