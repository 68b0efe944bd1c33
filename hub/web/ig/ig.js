// The IG page: keeps the bearer token in sessionStorage (this tab only, never in a URL) and calls /ig/api.
// Everything shown is written with textContent, never as HTML. Tables follow NHS.UK frontend's responsive table:
// each cell carries its column heading, which the stylesheet shows when the rows stack on a narrow screen.
"use strict";
(() => {
  const KEY = "onestory.ig.token";
  const $ = (sel) => document.querySelector(sel);
  const token = () => sessionStorage.getItem(KEY) || "";
  const WHEN = new Intl.DateTimeFormat("en-GB", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Europe/London",
  });
  const DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const OUTCOME_TAG = { success: "green", denied: "red", "not-found": "grey", error: "orange" };
  const ACTION_TAG = { "break-glass": "red", deny: "red", disclosure: "purple", "ig-access": "grey", "ig-review": "grey" };

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }
  const tag = (text, colour) => el("strong", { className: "nhsuk-tag" + (colour ? " nhsuk-tag--" + colour : ""), text });
  const line = (text, className) => el("span", { className: "ig-line" + (className ? " " + className : ""), text });

  function cell(heading, children) {
    return el("td", { className: "nhsuk-table__cell" }, [
      el("span", { className: "nhsuk-table-responsive__heading", text: heading + " ", attrs: { "aria-hidden": "true" } }),
      el("span", { className: "ig-cell" }, children),
    ]);
  }

  function when(iso) {
    const moment = new Date(iso);
    return el("time", { text: WHEN.format(moment), attrs: { datetime: iso } });
  }

  // -- messages -------------------------------------------------------------------------------------------
  function status(text) {
    $("#status").textContent = text;
  }
  function problem(text) {
    const box = $("#problem");
    if (!text) { box.hidden = true; return; }
    $("#problem-text").textContent = text;
    box.hidden = false;
    box.focus();
  }

  async function call(path, options = {}) {
    if (!token()) {
      problem("Sign in with an IG officer's token first.");
      throw new Error("no token");
    }
    const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
    const reply = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
    if (!reply.ok) {
      let detail = "";
      try { detail = (await reply.json()).detail || ""; } catch (e) { detail = ""; }
      const why = reply.status === 401 ? "The token is missing, expired or not valid. Sign in again."
        : reply.status === 403 ? "This token is not an IG officer's token for the audit purpose."
        : reply.status === 400 ? "Check the search: " + (typeof detail === "string" ? detail : "a value is not valid") + "."
        : "The request failed (error " + reply.status + ").";
      problem(why);
      status("");
      throw new Error(String(reply.status));
    }
    problem("");
    return reply;
  }

  // -- children ---------------------------------------------------------------------------------------------
  let reportChild = null;

  function childName(id, children) {
    const known = (children || {})[id];
    return known && known.name ? known.name : "Child " + id;
  }

  function childCell(id, children) {
    if (!id) return cell("Child", [line("No child (a search or a system act)", "ig-quiet")]);
    const known = (children || {})[id] || {};
    const parts = [line(known.name || "Name not recorded", "ig-strong")];
    parts.push(line(known.nhsNumber ? "NHS number " + known.nhsNumber : "No NHS number recorded"));
    const button = el("button", {
      className: "ig-link-button", text: "Disclosure report",
      attrs: { type: "button", "aria-label": "Disclosure report for " + childName(id, children) },
    });
    button.addEventListener("click", () => openReport(id).catch(() => {}));
    parts.push(button);
    return cell("Child", parts);
  }

  function summaryRow(key, value, className) {
    return el("div", { className: "nhsuk-summary-list__row" }, [
      el("dt", { className: "nhsuk-summary-list__key", text: key }),
      el("dd", { className: "nhsuk-summary-list__value" + (className ? " " + className : ""), text: value }),
    ]);
  }

  function childSummary(label, id) {
    return [
      summaryRow("Name", (label && label.name) || "Not recorded"),
      summaryRow("NHS number", (label && label.nhsNumber) || "Not recorded"),
      summaryRow("Date of birth", label && label.birthDate ? DAY.format(new Date(label.birthDate)) : "Not recorded"),
      summaryRow("OneStory child id", id, "ig-id"),
    ];
  }

  function renderMatched(body, by) {
    const box = $("#matched");
    box.replaceChildren();
    if (body.matched === undefined) return;
    if (body.matched.length === 0) {
      box.appendChild(el("div", { className: "nhsuk-inset-text" }, [
        el("p", { text: `No child has that ${by === "nhs" ? "NHS number" : "name"} in OneStory.` }),
      ]));
      return;
    }
    box.appendChild(el("h3", { text: body.matched.length === 1 ? "The child" : `${body.matched.length} children match` }));
    if (body.moreMatched) {
      box.appendChild(el("div", { className: "nhsuk-warning-callout" }, [
        el("h4", { className: "nhsuk-warning-callout__label", text: "More children have that name" }),
        el("p", { text: `Only the first ${body.matched.length} are searched. Add more of the name, or use the NHS number.` }),
      ]));
    }
    for (const id of body.matched) {
      const label = body.children[id];
      const button = el("button", {
        className: "nhsuk-button nhsuk-button--secondary nhsuk-button--small", text: "Disclosure report",
        attrs: { type: "button", "aria-label": "Disclosure report for " + childName(id, body.children) },
      });
      button.addEventListener("click", () => openReport(id).catch(() => {}));
      box.appendChild(el("div", { className: "nhsuk-card" }, [
        el("div", { className: "nhsuk-card__content" }, [
          el("dl", { className: "nhsuk-summary-list" }, childSummary(label, id)),
          button,
        ]),
      ]));
    }
  }

  // -- rows -------------------------------------------------------------------------------------------------
  function entriesText(entries) {
    if (!entries || entries.length === 0) return "No entries shown";
    const levels = {};
    for (const e of entries) levels[e.level] = (levels[e.level] || 0) + 1;
    const parts = Object.entries(levels).map(([level, n]) => `${n} ${level}`);
    return `${entries.length} ${entries.length === 1 ? "entry" : "entries"} shown (${parts.join(", ")})`;
  }

  function relationship(value) {
    if (value === false) return tag("No legitimate relationship", "red");
    if (value === true) return line("Legitimate relationship");
    return line("Relationship not assessed", "ig-quiet");
  }

  function who(item) {
    return [line(item.user, "ig-strong"), line(`${item.role} at ${item.organisation}`)];
  }

  function accessRow(item, children, withChild) {
    const tr = el("tr", { className: "nhsuk-table__row" });
    tr.appendChild(cell("When", [when(item.recordedAt), line(`Record ${item.seq}`, "ig-quiet")]));
    if (withChild) tr.appendChild(childCell(item.childId, children));
    tr.appendChild(cell("Who", who(item)));
    const what = [
      el("span", { className: "ig-tags" }, [
        tag(item.action, ACTION_TAG[item.action] || "blue"), tag(item.outcome, OUTCOME_TAG[item.outcome] || "grey"),
      ]),
      line(entriesText(item.entries)),
    ];
    if (item.query) what.push(line(item.query, "ig-quiet ig-code"));
    tr.appendChild(cell("What", what));
    const why = [line(`Purpose: ${item.purpose}`), relationship(item.legitimateRelationship)];
    if (item.reason) why.push(line(`Reason: ${item.reason}`));
    tr.appendChild(cell("Why", why));
    return tr;
  }

  // -- search -----------------------------------------------------------------------------------------------
  let nextPath = null;
  let lastFilters = new URLSearchParams();

  function filters() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData($("#search-form")).entries()) {
      if (k !== "unrelated" && String(v).trim()) params.set(k, String(v).trim());
    }
    return params;
  }

  async function search(path, append) {
    const body = await (await call(path)).json();
    const tbody = $("#results tbody");
    if (!append) {
      tbody.replaceChildren();
      const params = new URLSearchParams(path.split("?")[1] || "");
      renderMatched(body, params.has("nhs") ? "nhs" : "name");
    }
    for (const item of body.items) tbody.appendChild(accessRow(item, body.children, true));
    const [base, query] = path.split("?");
    const params = new URLSearchParams(query || "");
    const more = body.next !== null && body.next !== undefined;
    if (more) params.set("before", String(body.next));
    nextPath = more ? `${base}?${params}` : null;
    $("#more").hidden = nextPath === null;
    $("#results").hidden = tbody.rows.length === 0;
    $("#result-actions").hidden = tbody.rows.length === 0;
    const n = tbody.rows.length;
    status(n === 0 ? "No access records match." : `${n} access record${n === 1 ? "" : "s"} shown${nextPath ? "; older ones available" : ""}.`);
  }

  // -- downloads and the disclosure report --------------------------------------------------------------------
  async function download(path, filename) {
    const blob = await (await call(path)).blob();
    const url = URL.createObjectURL(blob);
    const link = el("a", { text: "Download " + filename + " again", attrs: { href: url, download: filename } });
    $("#downloads").replaceChildren(link);
    link.click();
    status("Prepared " + filename + ".");
  }

  async function openReport(id) {
    const body = await (await call(`/ig/api/children/${encodeURIComponent(id)}/disclosures.json`)).json();
    reportChild = id;
    const label = body.child;
    const name = label && label.name ? label.name : "child " + id;
    $("#report-h").textContent = "Disclosure report: " + name;
    $("#report-child").replaceChildren(...childSummary(label, id));
    const tbody = $("#report-items tbody");
    tbody.replaceChildren();
    for (const item of body.items) tbody.appendChild(accessRow(item, {}, false));
    $("#report-caption").textContent = `${body.items.length} access${body.items.length === 1 ? "" : "es"}, oldest first`;
    $("#report").hidden = false;
    $("#report-h").focus();
    $("#report").scrollIntoView();
    status(`Disclosure report for ${name}: ${body.items.length} accesses.`);
  }

  // -- attention: break-glass reviews and alerts -----------------------------------------------------------
  async function loadBreakGlass() {
    const body = await (await call("/ig/api/break-glass")).json();
    const tbody = $("#break-glass tbody");
    tbody.replaceChildren();
    for (const item of body.items) {
      const tr = el("tr", { className: "nhsuk-table__row" });
      tr.appendChild(cell("When", [when(item.recordedAt), line(`Record ${item.seq}`, "ig-quiet")]));
      tr.appendChild(cell("Who", who(item)));
      tr.appendChild(childCell(item.childId, body.children));
      tr.appendChild(cell("Reason given", [line(item.reason || "No reason recorded")]));
      const due = [when(item.reviewDue)];
      if (item.overdue) due.unshift(tag("Overdue", "red"));
      tr.appendChild(cell("Review due", due));
      const buttons = ["appropriate", "inappropriate"].map((decision) => {
        const button = el("button", {
          className: "nhsuk-button nhsuk-button--small" + (decision === "appropriate" ? " nhsuk-button--secondary" : " nhsuk-button--warning"),
          text: decision === "appropriate" ? "Appropriate" : "Inappropriate",
          attrs: { type: "button", "aria-label": `Mark break-glass access ${item.seq} by ${item.user} ${decision}` },
        });
        button.addEventListener("click", () => decide(item.seq, decision).catch(() => {}));
        return button;
      });
      tr.appendChild(cell("Decision", [el("span", { className: "ig-decisions" }, buttons)]));
      tbody.appendChild(tr);
    }
    const n = body.items.length;
    const overdue = body.items.filter((i) => i.overdue).length;
    $("#bg-count").replaceChildren(tag(`${n} awaiting`, n ? "orange" : "green"));
    $("#bg-summary").textContent = n === 0 ? "No break-glass access is awaiting review."
      : `Each must be reviewed within ${body.reviewDays} days of the access${overdue ? `; ${overdue} overdue` : ""}.`;
    $("#bg-empty").textContent = n === 0 ? "None awaiting review." : $("#bg-summary").textContent;
    $("#break-glass").hidden = n === 0;
  }

  async function decide(seq, decision) {
    await call(`/ig/api/break-glass/${seq}/decision`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ decision }),
    });
    await loadBreakGlass();
    status(`Break-glass access ${seq} marked ${decision}.`);
    $("#bg-list-h").focus();
  }

  async function loadAlerts() {
    const body = await (await call("/ig/api/alerts")).json();
    const tbody = $("#alerts tbody");
    tbody.replaceChildren();
    for (const a of body.items) {
      const tr = el("tr", { className: "nhsuk-table__row" });
      tr.appendChild(cell("Alert", [tag(a.rule, "orange")]));
      tr.appendChild(cell("Who", [line(a.user, "ig-strong")]));
      tr.appendChild(childCell(a.childId, body.children));
      tr.appendChild(cell("Day", [line(a.day ? DAY.format(new Date(a.day)) : "Any day")]));
      tr.appendChild(cell("Why it was raised", [line(a.message), line(`Records ${a.seqs.join(", ")}`, "ig-quiet")]));
      tbody.appendChild(tr);
    }
    const n = body.items.length;
    $("#alerts-count").replaceChildren(tag(`${n} raised`, n ? "orange" : "green"));
    $("#alerts-summary").textContent = n === 0 ? "No alert in the last 7 days."
      : "From the documented rules: look at each, and follow it up with the person's organisation if needed.";
    $("#alerts-empty").textContent = n === 0 ? "None raised." : $("#alerts-summary").textContent;
    $("#alerts").hidden = n === 0;
  }

  // -- signing in ---------------------------------------------------------------------------------------------
  // Who the token says the officer is, for display only (the hub checks the token on every call).
  function claims() {
    try {
      const part = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch (e) {
      return {};
    }
  }

  function signedIn(yes) {
    $("#sign-in").hidden = yes;
    $("#signed-in").hidden = !yes;
    if (!yes) return;
    const c = claims();
    const until = typeof c.exp === "number" ? ` until ${WHEN.format(new Date(c.exp * 1000))}` : "";
    $("#signed-in-as").textContent = c.sub
      ? `Signed in as ${c.sub}${c.role ? ` (${c.role}${c.org ? " at " + c.org : ""})` : ""} for this browser tab${until}.`
      : "Signed in for this browser tab.";
  }

  async function start() {
    await loadBreakGlass();
    await loadAlerts();
    signedIn(true);
  }

  document.addEventListener("DOMContentLoaded", () => {
    signedIn(false);
    if (token()) start().catch(() => {});
    $("#token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = $("#token").value.trim();
      if (!value) { problem("Enter a bearer token."); return; }
      sessionStorage.setItem(KEY, value);
      $("#token").value = "";
      start().then(() => status("Signed in.")).catch(() => {});
    });
    $("#forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      for (const id of ["#results", "#break-glass", "#alerts", "#report-items"]) $(id + " tbody").replaceChildren();
      for (const id of ["#results", "#result-actions", "#report", "#break-glass", "#alerts"]) $(id).hidden = true;
      $("#matched").replaceChildren();
      $("#downloads").replaceChildren();
      for (const id of ["#bg-count", "#alerts-count"]) $(id).replaceChildren();
      for (const id of ["#bg-summary", "#alerts-summary", "#bg-empty", "#alerts-empty"]) $(id).textContent = "Sign in to see them.";
      signedIn(false);
      status("Signed out: the token is forgotten.");
      $("#token").focus();
    });
    $("#search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      lastFilters = filters();
      const endpoint = $("#f-unrelated").checked ? "/ig/api/unrelated" : "/ig/api/audit";
      search(`${endpoint}?${lastFilters}`, false).catch(() => {});
    });
    $("#more").addEventListener("click", () => { if (nextPath) search(nextPath, true).catch(() => {}); });
    for (const button of document.querySelectorAll("[data-export]")) {
      const fmt = button.dataset.export;
      button.addEventListener("click", () =>
        download(`/ig/api/export.${fmt}?${lastFilters}`, fmt === "csv" ? "audit.csv" : "audit-events.ndjson").catch(() => {}));
    }
    for (const button of document.querySelectorAll("[data-report]")) {
      const fmt = button.dataset.report;
      button.addEventListener("click", () => {
        if (reportChild) {
          download(`/ig/api/children/${encodeURIComponent(reportChild)}/disclosures.${fmt}`,
            `disclosures-${reportChild}.${fmt}`).catch(() => {});
        }
      });
    }
  });
})();
