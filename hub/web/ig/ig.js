// The IG page: keeps the bearer token in sessionStorage (this tab only) and calls the /ig/api endpoints.
// All data is written with textContent, never as HTML.
"use strict";
(() => {
  const KEY = "onestory.ig.token";
  const $ = (sel) => document.querySelector(sel);
  const status = (text, isError = false) => {
    const el = $("#status");
    el.textContent = text;
    el.className = isError ? "error" : "";
  };
  const token = () => sessionStorage.getItem(KEY) || "";

  async function call(path, options = {}) {
    if (!token()) { status("Enter a bearer token first.", true); throw new Error("no token"); }
    const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
    const reply = await fetch(path, Object.assign({}, options, { headers }));
    if (!reply.ok) {
      const why = reply.status === 401 ? "the token is missing, expired or not valid"
        : reply.status === 403 ? "this token is not an IG officer's token for the audit purpose" : "the request failed";
      let detail = "";
      try { detail = (await reply.json()).detail || ""; } catch (e) { detail = ""; }
      status(`Error ${reply.status}: ${why}${detail ? " (" + detail + ")" : ""}.`, true);
      throw new Error(String(reply.status));
    }
    return reply;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  const entriesText = (entries) => (entries || []).map((e) => `${e.id} (${e.level})`).join(", ");
  const relationText = (v) => (v === true ? "yes" : v === false ? "NO" : "not assessed");

  function filters() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData($("#search-form")).entries()) { if (v) params.set(k, v); }
    return params;
  }

  let nextPath = null;
  async function search(path, append) {
    const body = await (await call(path)).json();
    const tbody = $("#results tbody");
    if (!append) tbody.replaceChildren();
    for (const item of body.items) {
      const tr = document.createElement("tr");
      [item.seq, item.recordedAt, item.action, item.outcome, item.user, item.organisation, item.role, item.purpose,
        item.childId, entriesText(item.entries)].forEach((v) => cell(tr, v));
      cell(tr, relationText(item.legitimateRelationship), item.legitimateRelationship === false ? "overdue" : "");
      cell(tr, item.reason);
      tbody.appendChild(tr);
    }
    const base = path.split("?")[0];
    const params = new URLSearchParams(path.split("?")[1] || "");
    if (body.next !== null) { params.set("before", body.next); nextPath = base + "?" + params; } else { nextPath = null; }
    $("#more").hidden = nextPath === null;
    status(`${tbody.rows.length} record(s) shown${nextPath ? "; more available" : ""}.`);
  }

  async function download(path, filename) {
    const blob = await (await call(path)).blob();
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    link.textContent = "Download " + filename + " again";
    $("#report-links").replaceChildren(link);
    link.click();
    status("Prepared " + filename + ".");
  }

  async function loadBreakGlass() {
    const body = await (await call("/ig/api/break-glass")).json();
    const tbody = $("#break-glass tbody");
    tbody.replaceChildren();
    for (const item of body.items) {
      const tr = document.createElement("tr");
      [item.seq, item.recordedAt, item.user, item.organisation, item.childId, item.reason].forEach((v) => cell(tr, v));
      cell(tr, item.reviewDue + (item.overdue ? " (OVERDUE)" : ""), item.overdue ? "overdue" : "");
      const td = cell(tr, "");
      for (const decision of ["appropriate", "inappropriate"]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `Mark ${decision}`;
        button.setAttribute("aria-label", `Mark break-glass access ${item.seq} ${decision}`);
        button.addEventListener("click", () => decide(item.seq, decision).catch(() => {}));
        td.appendChild(button);
      }
      tbody.appendChild(tr);
    }
    status(`${body.items.length} break-glass access(es) awaiting review (deadline ${body.reviewDays} days).`);
  }

  async function decide(seq, decision) {
    await call(`/ig/api/break-glass/${seq}/decision`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ decision }),
    });
    await loadBreakGlass();
    status(`Break-glass access ${seq} marked ${decision}.`);
  }

  async function loadAlerts() {
    const body = await (await call("/ig/api/alerts")).json();
    const tbody = $("#alerts tbody");
    tbody.replaceChildren();
    for (const a of body.items) {
      const tr = document.createElement("tr");
      [a.rule, a.user, a.childId, a.day, a.message, a.seqs.join(", ")].forEach((v) => cell(tr, v));
      tbody.appendChild(tr);
    }
    status(`${body.items.length} alert(s).`);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#token").value = token();
    $("#token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY, $("#token").value.trim());
      status("Token saved for this tab.");
    });
    $("#forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      $("#token").value = "";
      status("Token forgotten.");
    });
    $("#search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      search("/ig/api/audit?" + filters(), false).catch(() => {});
    });
    $("#unrelated").addEventListener("click", () => search("/ig/api/unrelated?" + filters(), false).catch(() => {}));
    $("#more").addEventListener("click", () => { if (nextPath) search(nextPath, true).catch(() => {}); });
    for (const button of document.querySelectorAll("[data-export]")) {
      const fmt = button.dataset.export;
      button.addEventListener("click", () =>
        download(`/ig/api/export.${fmt}?` + filters(), fmt === "csv" ? "audit.csv" : "audit-events.ndjson")
          .catch(() => {}));
    }
    $("#report-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const fmt = (e.submitter && e.submitter.value) || "csv";
      const child = $("#r-child").value.trim();
      download(`/ig/api/children/${encodeURIComponent(child)}/disclosures.${fmt}`, `disclosures-${child}.${fmt}`)
        .catch(() => {});
    });
    $("#load-bg").addEventListener("click", () => loadBreakGlass().catch(() => {}));
    $("#load-alerts").addEventListener("click", () => loadAlerts().catch(() => {}));
  });
})();
