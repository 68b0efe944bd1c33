/* OneStory viewer: a SMART app (EHR launch with PKCE) that shows the child's story. No framework, no build.
   Everything from the server is written with textContent, never as HTML. */
"use strict";

(function () {
  const store = window.sessionStorage;
  const CLIENT_ID = "onestory-viewer";
  const $ = (id) => document.getElementById(id);

  function setStatus(text, isError) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
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

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  const LEVEL_LABEL = { full: "", summary: "Summary", flag: "Flag" };

  function entryItem(entry) {
    const item = element("li", null, "entry level-" + entry.level);
    item.dataset.agency = entry.source.organisation;
    item.dataset.category = entry.category || "involvement";
    const heading = element("h3", entry.level === "flag" ? "Involved: " + entry.orgName : entry.summary);
    if (LEVEL_LABEL[entry.level]) heading.appendChild(element("span", LEVEL_LABEL[entry.level], "badge"));
    item.appendChild(heading);
    const time = element("time", when(entry.occurredAt));
    time.setAttribute("datetime", entry.occurredAt);
    const meta = element("p", null, "meta");
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" · Source: " + entry.orgName + " (" + entry.source.system + ")"));
    if (entry.category) meta.appendChild(document.createTextNode(" · " + entry.category.replace(/-/g, " ")));
    item.appendChild(meta);
    if (entry.level === "flag" && entry.note) item.appendChild(element("p", entry.note));
    return item;
  }

  function fillSelect(select, values) {
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

  function render(story) {
    $("title").textContent = story.name ? "The story of " + story.name : "The child's story";
    $("who").textContent = "Viewing as " + story.explanation.role + " – " + story.viewer.organisation;
    if (story.thrive) {
      $("thrive").textContent = story.thrive.grouping +
        (story.thrive.agreed_by && story.thrive.agreed_by.length ? " (agreed by " + story.thrive.agreed_by.join(", ") + ")" : "");
    }
    if (story.ending) $("ending").textContent = story.ending.criteria;
    const team = $("team");
    story.team.forEach((m) => {
      const li = element("li");
      li.appendChild(element("strong", m.orgName));
      const role = [m.worker, m.role].filter(Boolean).join(", ");
      if (role) li.appendChild(element("span", " – " + role));
      if (m.contact) li.appendChild(element("div", "Contact: " + m.contact));
      team.appendChild(li);
    });
    if (!story.team.length) team.appendChild(element("li", "No one is shown to you."));
    const agencies = {};
    const categories = {};
    const list = $("story");
    story.entries.slice().sort((a, b) => b.occurredAt.localeCompare(a.occurredAt)).forEach((entry) => {
      agencies[entry.source.organisation] = entry.orgName;
      categories[entry.category || "involvement"] = (entry.category || "involvement").replace(/-/g, " ");
      list.appendChild(entryItem(entry));
    });
    fillSelect($("agency"), agencies);
    fillSelect($("category"), categories);
    const why = story.explanation;
    $("why-intro").textContent = why.intro;
    $("why-role").textContent = why.role;
    $("why-purpose").textContent = why.purpose.replace(/-/g, " ");
    const levels = $("why-levels");
    [["full", "In full"], ["summary", "Summary"], ["flag", "Flag"]].forEach(([key, label]) => {
      levels.appendChild(element("dt", label));
      levels.appendChild(element("dd", why.levels[key]));
    });
    $("why-next").textContent = why.next;
    $("content").hidden = false;
    applyFilters();
    setStatus(story.updating ? "The record is being updated: some entries may appear shortly." : "");
  }

  async function load(patient, token) {
    setStatus("Loading the story…");
    const reply = await fetch("/viewer/story.json?patient=" + encodeURIComponent(patient), {
      headers: { Authorization: "Bearer " + token },
    });
    if (reply.status === 401) throw new Error("Your session has ended. Open OneStory again from your system.");
    if (reply.status === 403) throw new Error("You do not have access to this child's story in OneStory.");
    if (!reply.ok) throw new Error("No story is available to you for this child.");
    render(await reply.json());
  }

  async function main() {
    $("agency").addEventListener("change", applyFilters);
    $("category").addEventListener("change", applyFilters);
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
    return load(patient, token);
  }

  document.addEventListener("DOMContentLoaded", () => {
    main().catch((error) => setStatus(error.message, true));
  });
})();
