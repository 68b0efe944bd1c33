// Sends the form as JSON, shows every problem beside its field (and in a summary that takes focus, so screen
// readers announce it), and shows the receipt reference on success. No framework, no build step.
"use strict";
(function () {
  const form = document.getElementById("self-referral");
  const summary = document.getElementById("error-summary");
  const list = document.getElementById("error-list");
  const status = document.getElementById("status");
  const submissionId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();

  function checked(name) {
    return Array.from(form.querySelectorAll(`input[name="${name}"]:checked`)).map((el) => el.value);
  }
  function value(id) { return document.getElementById(id).value.trim(); }
  function pad(text, size) { return text ? text.padStart(size, "0") : ""; }

  function collect() {
    const day = pad(value("birth_day"), 2), month = pad(value("birth_month"), 2), year = value("birth_year");
    return {
      submission_id: submissionId,
      requester: checked("requester")[0] || null,
      given_name: value("given_name"), family_name: value("family_name"),
      birth_date: year && month && day ? `${year}-${month}-${day}` : "",
      postcode: value("postcode"), nhs_number: value("nhs_number"),
      areas: checked("areas"), help_wanted: value("help_wanted"), may_tell: checked("may_tell"),
      do_not_tell: checked("do_not_tell"),
      contact_method: checked("contact_method")[0] || null, contact_value: value("contact_value"),
    };
  }

  function firstControl(field) {
    const box = document.getElementById(field);
    if (!box) return null;
    return box.matches("input, textarea") ? box : box.querySelector("input, textarea");
  }

  function clearErrors() {
    list.replaceChildren();
    summary.hidden = true;
    form.querySelectorAll(".error-message").forEach((p) => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }

  const LABELS = {
    requester: "Who is asking", given_name: "First name", family_name: "Last name", birth_date: "Date of birth",
    postcode: "Postcode", nhs_number: "NHS number", areas: "What you would like help with",
    help_wanted: "In your own words", may_tell: "Who may we tell", do_not_tell: "Who we must not tell",
    contact_method: "How we get in touch",
    contact_value: "Phone number or email address",
  };

  function showErrors(errors) {
    clearErrors();
    for (const { field, message } of errors) {
      const text = `${LABELS[field] || field}: ${message}`;
      const slot = document.getElementById(`${field}-error`);
      if (slot) { slot.textContent = text; slot.hidden = false; }
      const control = firstControl(field);
      if (control) control.setAttribute("aria-invalid", "true");
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `#${control ? control.id : field}`;
      link.textContent = text;
      link.addEventListener("click", (e) => { e.preventDefault(); if (control) control.focus(); });
      item.append(link);
      list.append(item);
    }
    summary.hidden = false;
    summary.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("submit");
    button.disabled = true;
    status.textContent = "Sending your request";
    try {
      const reply = await fetch("/intake/self-referral", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(collect()),
      });
      const body = await reply.json();
      if (reply.status === 201) {
        clearErrors();
        form.hidden = true;
        document.getElementById("receipt-reference").textContent = body.receipt;
        const receipt = document.getElementById("receipt");
        receipt.hidden = false;
        receipt.focus();
        status.textContent = `Request sent. Your reference is ${body.receipt}`;
      } else {
        showErrors(body.errors && body.errors.length ? body.errors
          : [{ field: "submit", message: "something went wrong, please try again" }]);
        status.textContent = "";
      }
    } catch (err) {
      showErrors([{ field: "submit", message: "we could not send your request, please try again" }]);
    } finally {
      button.disabled = false;
    }
  });
})();
