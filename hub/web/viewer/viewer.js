/* OneStory viewer: a SMART app (EHR launch with PKCE) that shows the child's story on NHS.UK frontend.
   No framework, no build. Everything from the server is written with textContent, never as HTML. */
"use strict";

(function () {
  const store = window.sessionStorage;
  const CLIENT_ID = "onestory-viewer";
  const $ = (id) => document.getElementById(id);
  const TONES = ["blue", "purple", "aqua-green", "green", "yellow", "orange", "pink", "grey", "red", "white"];
  let session = { patient: null, token: null };

  function setStatus(text, isError) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("viewer-status--error", Boolean(isError));
    status.hidden = !text;
  }

  function b64url(bytes) {
    let text = "";
    bytes.forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString() {
    const bytes = new Uint8Array(32);
    crypto.getRandomValues(bytes);
    return b64url(bytes);
  }

  async function challengeFor(verifier) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return b64url(new Uint8Array(digest));
  }

  function redirectUri() {
    return window.location.origin + "/viewer";
  }

  /* Step 1 of the EHR launch: the EPR opened us with launch + iss; discover the server and go to authorize. */
  async function startLaunch(launch, iss) {
    setStatus("Connecting to OneStory…");
    const config = await (await fetch(iss.replace(/\/$/, "") + "/.well-known/smart-configuration")).json();
    const verifier = randomString();
    const state = randomString();
    store.setItem("onestory.pkce", verifier);
    store.setItem("onestory.state", state);
    store.setItem("onestory.tokenEndpoint", config.token_endpoint);
    const params = new URLSearchParams({
      response_type: "code", client_id: CLIENT_ID, redirect_uri: redirectUri(), launch: launch,
      scope: "launch patient/*.read openid fhirUser", state: state, aud: iss,
      code_challenge: await challengeFor(verifier), code_challenge_method: "S256",
    });
    window.location.assign(config.authorization_endpoint + "?" + params.toString());
  }

  /* Step 2: back from authorize with a code; swap it for an access token bound to the patient. */
  async function finishLaunch(code, state) {
    if (state !== store.getItem("onestory.state")) throw new Error("The sign-in could not be completed (state).");
    const body = new URLSearchParams({
      grant_type: "authorization_code", code: code, redirect_uri: redirectUri(), client_id: CLIENT_ID,
      code_verifier: store.getItem("onestory.pkce") || "",
    });
    const reply = await fetch(store.getItem("onestory.tokenEndpoint") || "/smart/token", {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: body,
    });
    const token = await reply.json();
    if (!reply.ok) throw new Error("The sign-in could not be completed.");
    store.removeItem("onestory.pkce");
    store.removeItem("onestory.state");
    store.setItem("onestory.token", token.access_token);
    store.setItem("onestory.patient", token.patient);
    window.history.replaceState(null, "", "/viewer?patient=" + encodeURIComponent(token.patient));
    return token.patient;
  }

  function when(iso) {
    return new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function tag(text, tone) {
    const safe = TONES.indexOf(tone) >= 0 ? tone : "grey";
    return element("strong", text, "nhsuk-tag nhsuk-tag--" + safe);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  const LEVEL_LABEL = { full: "", summary: "Summary only", flag: "Involvement only" };

  function factsList(facts) {
    const list = element("dl", null, "nhsuk-summary-list viewer-facts");
    facts.forEach((fact) => {
      const row = element("div", null, "nhsuk-summary-list__row");
      row.appendChild(element("dt", fact.label, "nhsuk-summary-list__key"));
      row.appendChild(element("dd", fact.value, "nhsuk-summary-list__value"));
      list.appendChild(row);
    });
    return list;
  }

  function whyMore(entry, why) {
    const details = element("details", null, "nhsuk-details viewer-entry__why");
    const summary = element("summary", null, "nhsuk-details__summary");
    summary.appendChild(element("span", "Why can't I see more?", "nhsuk-details__summary-text"));
    details.appendChild(summary);
    const text = element("div", null, "nhsuk-details__text");
    text.appendChild(element("p", why.levels[entry.level]));
    text.appendChild(element("p", "To ask about this entry, contact " + entry.orgName + "."));
    details.appendChild(text);
    return details;
  }

  function entryItem(entry, why) {
    const item = element("li", null, "nhsuk-card viewer-entry viewer-entry--" + entry.level);
    item.dataset.agency = entry.source.organisation;
    item.dataset.category = entry.category || "involvement";
    const content = element("div", null, "nhsuk-card__content");
    const tags = element("p", null, "viewer-entry__tags");
    tags.appendChild(tag(entry.agency.label, entry.agency.tone));
    if (entry.categoryLabel) tags.appendChild(tag(entry.categoryLabel, "white"));
    if (LEVEL_LABEL[entry.level]) tags.appendChild(tag(LEVEL_LABEL[entry.level], "grey"));
    content.appendChild(tags);
    const heading = element("h3", entry.level === "flag" ? "Involved: " + entry.orgName : entry.summary,
      "nhsuk-card__heading nhsuk-heading-s");
    content.appendChild(heading);
    const time = element("time", when(entry.occurredAt));
    time.setAttribute("datetime", entry.occurredAt);
    const meta = element("p", null, "nhsuk-body-s viewer-entry__meta");
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" · Source: " + entry.orgName + " (" + entry.source.system + ")"));
    content.appendChild(meta);
    if (entry.facts && entry.facts.length) content.appendChild(factsList(entry.facts));
    if (entry.level === "flag" && entry.note) content.appendChild(element("p", entry.note, "nhsuk-body-s"));
    if (entry.level !== "full") content.appendChild(whyMore(entry, why));
    item.appendChild(content);
    return item;
  }

  function fillSelect(select, values) {
    while (select.options.length > 1) select.remove(1);
    Object.keys(values).sort((a, b) => values[a].localeCompare(values[b])).forEach((value) => {
      const option = element("option", values[value]);
      option.value = value;
      select.appendChild(option);
    });
  }

  function applyFilters() {
    const agency = $("agency").value;
    const category = $("category").value;
    let shown = 0;
    const items = $("story").children;
    for (const item of items) {
      const visible = (!agency || item.dataset.agency === agency) && (!category || item.dataset.category === category);
      item.hidden = !visible;
      if (visible) shown += 1;
    }
    $("shown").textContent = "Showing " + shown + " of " + items.length + " entries.";
  }

  function renderBanner(story) {
    const b = story.banner;
    $("title").textContent = b.name || "The child's story";
    $("b-nhs").textContent = b.nhsNumber || "Not known";
    $("b-born").textContent = b.birthDate ? when(b.birthDate) + " (" + b.age + " years old)" : "Not known";
    $("b-gp").textContent = b.gp || "Not shared with you";
    $("b-school").textContent = b.school || "Not shared with you";
    $("b-relationship").textContent = b.relationship;
    const glance = $("glance");
    clear(glance);
    story.status.forEach((s) => {
      const li = element("li");
      li.appendChild(tag(s.label, s.tone));
      if (s.since) li.appendChild(element("span", " since " + when(s.since), "nhsuk-body-s"));
      glance.appendChild(li);
    });
    if (!story.status.length) glance.appendChild(element("li", "Nothing shared with you to show here.", "nhsuk-body-s"));
  }

  function renderTeam(story) {
    const team = $("team");
    clear(team);
    story.team.forEach((m) => {
      const li = element("li");
      li.appendChild(tag(m.agency.label, m.agency.tone));
      li.appendChild(element("strong", " " + m.orgName));
      const role = [m.worker, m.role].filter(Boolean).join(", ");
      if (role) li.appendChild(element("span", " – " + role));
      if (m.contact) li.appendChild(element("div", "Contact: " + m.contact, "nhsuk-body-s"));
      team.appendChild(li);
    });
    if (!story.team.length) team.appendChild(element("li", "No one is shown to you."));
  }

  function renderGlass(glass) {
    $("glass-on").hidden = !glass;
    if (!glass) return;
    $("glass-words").textContent = "You declared break-glass (" + glass.reasonText.replace(/\.$/, "") +
      ") and see up to a " + glass.maxLevel + " of what the agreement allows until " + clock(glass.expiresAt) +
      ". Everything you open is recorded and your information governance team reviews it.";
  }

  function render(story) {
    $("who").textContent = "Viewing as " + story.explanation.role + " – " + story.viewer.organisation;
    renderBanner(story);
    renderGlass(story.breakGlass);
    $("thrive").textContent = story.thrive ? story.thrive.grouping +
      (story.thrive.agreed_by && story.thrive.agreed_by.length ? " (agreed by " + story.thrive.agreed_by.join(", ") + ")" : "")
      : "Not shared with you";
    $("ending").textContent = story.ending ? story.ending.criteria : "Not shared with you";
    renderTeam(story);
    const agencies = {};
    const categories = {};
    const list = $("story");
    clear(list);
    story.entries.slice().sort((a, b) => b.occurredAt.localeCompare(a.occurredAt)).forEach((entry) => {
      agencies[entry.source.organisation] = entry.orgName;
      categories[entry.category || "involvement"] = entry.categoryLabel || "Involvement";
      list.appendChild(entryItem(entry, story.explanation));
    });
    fillSelect($("agency"), agencies);
    fillSelect($("category"), categories);
    const why = story.explanation;
    $("why-intro").textContent = why.intro;
    $("why-role").textContent = why.role;
    $("why-purpose").textContent = why.purpose.replace(/-/g, " ");
    const levels = $("why-levels");
    clear(levels);
    [["full", "In full"], ["summary", "Summary"], ["flag", "Flag"]].forEach(([key, label]) => {
      const row = element("div", null, "nhsuk-summary-list__row");
      row.appendChild(element("dt", label, "nhsuk-summary-list__key"));
      row.appendChild(element("dd", why.levels[key], "nhsuk-summary-list__value"));
      levels.appendChild(row);
    });
    $("why-next").textContent = why.next;
    $("content").hidden = false;
    applyFilters();
    setStatus(story.updating ? "The record is being updated: some entries may appear shortly." : "");
  }

  function headers(extra) {
    return Object.assign({ Authorization: "Bearer " + session.token }, extra || {});
  }

  async function offerGlass(story) {
    const reply = await fetch("/api/break-glass/reasons", { headers: headers() });
    const offer = reply.ok ? await reply.json() : { allowed: false };
    const wanted = offer.allowed && !(story && (story.breakGlass || story.banner.related));
    $("glass-offer").hidden = !wanted;
    if (!wanted) return;
    $("glass-level").textContent = "at most a " + offer.maxLevel;
    $("glass-minutes").textContent = String(offer.maxMinutes);
    const radios = $("glass-reasons");
    clear(radios);
    offer.reasons.forEach((reason, i) => {
      const item = element("div", null, "nhsuk-radios__item");
      const input = element("input", null, "nhsuk-radios__input");
      input.type = "radio";
      input.name = "reason";
      input.id = "glass-reason-" + i;
      input.value = reason.code;
      const label = element("label", reason.code.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase()),
        "nhsuk-label nhsuk-radios__label");
      label.htmlFor = input.id;
      const hint = element("div", reason.text, "nhsuk-hint nhsuk-radios__hint");
      hint.id = input.id + "-hint";
      input.setAttribute("aria-describedby", hint.id);
      item.appendChild(input);
      item.appendChild(label);
      item.appendChild(hint);
      radios.appendChild(item);
    });
  }

  function glassProblem(text) {
    $("glass-problem").hidden = !text;
    $("glass-problem-text").textContent = text || "";
    if (text) $("glass-problem").focus();
  }

  async function declareGlass(event) {
    event.preventDefault();
    const chosen = document.querySelector("input[name=reason]:checked");
    const justification = $("glass-justification").value;
    if (!chosen) return glassProblem("Choose why you need emergency access.");
    if (!justification.trim()) return glassProblem("Say why, in your own words.");
    const reply = await fetch("/api/children/" + encodeURIComponent(session.patient) + "/break-glass", {
      method: "POST", headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ reason: chosen.value, justification: justification }),
    });
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({}));
      return glassProblem(typeof problem.detail === "string" ? problem.detail : "Break-glass could not be declared.");
    }
    glassProblem("");
    $("glass-offer").hidden = true;
    await load();
    $("glass-on").setAttribute("tabindex", "-1");
    $("glass-on").focus();
  }

  async function endGlass() {
    await fetch("/api/children/" + encodeURIComponent(session.patient) + "/break-glass", {
      method: "DELETE", headers: headers(),
    });
    $("glass-on").hidden = true;
    await load();
  }

  async function load() {
    setStatus("Loading the story…");
    const reply = await fetch("/viewer/story.json?patient=" + encodeURIComponent(session.patient), { headers: headers() });
    if (reply.status === 401) throw new Error("Your session has ended. Open OneStory again from your system.");
    if (reply.status === 403) throw new Error("You do not have access to this child's story in OneStory.");
    if (!reply.ok) {
      $("content").hidden = true;
      $("glass-on").hidden = true;
      setStatus("No story is available to you for this child.", true);
      return offerGlass(null);
    }
    const story = await reply.json();
    render(story);
    return offerGlass(story);
  }

  async function main() {
    $("agency").addEventListener("change", applyFilters);
    $("category").addEventListener("change", applyFilters);
    $("print").addEventListener("click", () => window.print());
    $("glass-form").addEventListener("submit", (e) => { declareGlass(e).catch((err) => glassProblem(err.message)); });
    $("glass-end").addEventListener("click", () => { endGlass().catch((err) => setStatus(err.message, true)); });
    const params = new URLSearchParams(window.location.search);
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    if (fragment.get("access_token")) {
      store.setItem("onestory.token", fragment.get("access_token"));
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    if (params.get("launch") && params.get("iss")) return startLaunch(params.get("launch"), params.get("iss"));
    if (params.get("error")) throw new Error("OneStory could not open: " + params.get("error"));
    let patient = params.get("patient");
    if (params.get("code")) patient = await finishLaunch(params.get("code"), params.get("state"));
    const token = store.getItem("onestory.token");
    if (!token) throw new Error("Open OneStory from your system to see a child's story.");
    patient = patient || store.getItem("onestory.patient");
    if (!patient) throw new Error("No child was selected.");
    session = { patient: patient, token: token };
    return load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    main().catch((error) => setStatus(error.message, true));
  });
})();
