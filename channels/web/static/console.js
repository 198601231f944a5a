// The agent console's live parts: the queue and a transcript follow server-sent events, and
// replies are sent without a reload. Every text is set with textContent, never as HTML.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60); seconds %= 60;
    if (minutes < 60) return seconds ? minutes + " min " + seconds + " s" : minutes + " min";
    var hours = Math.floor(minutes / 60); minutes %= 60;
    if (hours < 24) return hours + " h " + minutes + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function decisionNode(d, open) {
    if (!d) return null;
    var details = el("details", "decision");
    details.open = Boolean(open);
    var summary = el("summary", null, "Bot decision: ");
    summary.appendChild(el("strong", null, d.action));
    var extra = (d.reason ? " (" + d.reason + ")" : "") + (d.lang ? " · language " + d.lang + (d.lang_source ? " via " + d.lang_source : "") : "");
    var top = d.candidates && d.candidates[0];
    if (top && !open) extra += " · top: " + top.title + (typeof top.score === "number" ? " (" + top.score.toFixed(3) + ")" : "");
    summary.appendChild(document.createTextNode(extra));
    details.appendChild(summary);
    if (d.candidates && d.candidates.length) {
      var list = el("ol", "candidates");
      d.candidates.forEach(function (c) {
        var item = el("li");
        item.appendChild(el("span", "title", c.title));
        item.appendChild(document.createTextNode(" "));
        item.appendChild(el("code", null, c.id));
        if (typeof c.score === "number") { item.appendChild(document.createTextNode(" ")); item.appendChild(el("span", "score", c.score.toFixed(3))); }
        if (c.kind) { item.appendChild(document.createTextNode(" ")); item.appendChild(el("span", "kind", c.kind)); }
        list.appendChild(item);
      });
      details.appendChild(list);
    } else {
      details.appendChild(el("p", null, "No candidate articles."));
    }
    return details;
  }

  // -- one conversation ------------------------------------------------------------------
  function messageNode(m) {
    var item = el("li", "msg msg-" + m.author);
    item.setAttribute("data-id", m.id);
    var head = el("div", "msg-head");
    var author = m.author === "agent" ? (m.agent_name || "Agent") : m.author.charAt(0).toUpperCase() + m.author.slice(1);
    head.appendChild(el("span", "author", author));
    if (m.action) head.appendChild(el("span", "action", m.action));
    var time = el("time", null, m.time);
    time.setAttribute("datetime", m.created_at);
    head.appendChild(time);
    item.appendChild(head);
    item.appendChild(el("div", "msg-text", m.text));
    if (m.choices && m.choices.length) {
      var choices = el("ul", "choices");
      m.choices.forEach(function (c) {
        var choice = el("li", null, c.title + " ");
        choice.appendChild(el("code", null, c.article_id));
        choices.appendChild(choice);
      });
      item.appendChild(choices);
    }
    var decision = decisionNode(m.decision, true);
    if (decision) item.appendChild(decision);
    return item;
  }

  function followConversation(transcript) {
    var panel = transcript.closest(".conversation");
    var shownState = panel ? panel.getAttribute("data-state") : null;
    var source = new EventSource(transcript.getAttribute("data-events"));
    source.onmessage = function (e) {
      var m = JSON.parse(e.data);
      if (transcript.querySelector('[data-id="' + m.id + '"]')) return;
      transcript.appendChild(messageNode(m));
      transcript.lastChild.scrollIntoView({ block: "nearest" });
    };
    source.addEventListener("state", function (e) {
      var state = JSON.parse(e.data).state;
      var badge = document.getElementById("state");
      if (badge) { badge.textContent = state; badge.className = "badge state-" + state; }
      var draft = document.getElementById("reply-text");
      // The controls depend on the state: reload to get the right ones, unless a reply is being typed.
      if (state !== shownState && (!draft || !draft.value.trim())) window.location.reload();
    });
  }

  function sendReplies(form) {
    var text = form.querySelector("textarea");
    var error = document.getElementById("reply-error");
    var picker = document.getElementById("reply-article");
    var inserted = "";
    // "Answer with an article": the picked article's link goes into the reply, where the agent can
    // still edit around it; picking another replaces the line put in before (the server adds the
    // line itself when it is missing, so the form also works without this).
    if (picker) picker.addEventListener("change", function () {
      var option = picker.options[picker.selectedIndex];
      var line = option && option.value ? option.getAttribute("data-line") : "";
      var body = inserted && text.value.indexOf(inserted) >= 0 ? text.value.replace(inserted, line).trim() : text.value.trim();
      if (line && body.indexOf(line) < 0) body = body ? body + "\n\n" + line : line;
      text.value = body;
      inserted = line;
      text.focus();
    });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (result.ok) { text.value = ""; error.hidden = true; if (picker) picker.value = ""; inserted = ""; }
        else { error.textContent = result.body.error || "The reply was not sent."; error.hidden = false; }
      }).catch(function () {
        error.textContent = "The reply was not sent: the server cannot be reached."; error.hidden = false;
      }).then(function () { button.disabled = false; text.focus(); });
    });
  }

  // -- the queue -------------------------------------------------------------------------
  function followQueue(queue) {
    var base = queue.getAttribute("data-base");
    var offset = Date.parse(queue.getAttribute("data-now")) - Date.now();

    function tick() {
      queue.querySelectorAll(".wait[data-since]").forEach(function (span) {
        span.textContent = duration((Date.now() + offset - Date.parse(span.getAttribute("data-since"))) / 1000);
      });
    }

    function hidden(name, value) {
      var input = el("input");
      input.type = "hidden"; input.name = name; input.value = value;
      return input;
    }

    function cell(row, content) {
      var td = el("td");
      if (content) td.appendChild(content);
      row.appendChild(td);
      return td;
    }

    function langNode(c) {
      var span = el("span", null, c.lang_name + " ");
      span.appendChild(el("code", null, c.lang));
      return span;
    }

    function waitNode(c) {
      var span = el("span", "wait", c.wait);
      span.setAttribute("data-since", c.since);
      return span;
    }

    function fill(body, items, columns, build) {
      while (body.firstChild) body.removeChild(body.firstChild);
      if (!items.length) {
        var row = el("tr", "empty");
        var td = el("td", null, body.getAttribute("data-empty"));
        td.colSpan = columns;
        row.appendChild(td);
        body.appendChild(row);
        return;
      }
      items.forEach(function (c) { body.appendChild(build(c)); });
    }

    function waitingRow(c) {
      var row = el("tr");
      var lang = langNode(c);
      if (c.state === "missed") lang.appendChild(document.createTextNode(" · " + c.channel + (c.email ? " · e-mail" : "")));
      cell(row, lang);
      cell(row, waitNode(c));
      cell(row).className = "said";
      row.lastChild.textContent = c.last_customer_text;
      cell(row, decisionNode(c.decision));
      var form = el("form");
      form.method = "post";
      form.action = base + "conversations/" + encodeURIComponent(c.id) + "/take";
      form.appendChild(hidden("csrf_token", csrf));
      var button = el("button", "primary", "Take");
      button.type = "submit";
      button.appendChild(el("span", "visually-hidden", " the " + c.state + " " + c.lang_name + " conversation"));
      form.appendChild(button);
      cell(row, form);
      return row;
    }

    function mineRow(c) {
      var row = el("tr");
      cell(row, langNode(c));
      cell(row, waitNode(c));
      cell(row).className = "said";
      row.lastChild.textContent = c.last_customer_text;
      var link = el("a", "button", "Open");
      link.href = base + "conversations/" + encodeURIComponent(c.id);
      cell(row, link);
      return row;
    }

    function reindexText(r) {
      if (r.state === "running") return "Reindexing since " + r.started_at + "…";
      if (r.state === "done") return "Last reindex finished " + r.finished_at + " in " + r.seconds + " s: " + r.message;
      if (r.state === "failed") return "Last reindex failed: " + r.message;
      return "No reindex since the server started.";
    }

    var source = new EventSource(queue.getAttribute("data-events"));
    source.addEventListener("queue", function (e) {
      var data = JSON.parse(e.data);
      offset = Date.parse(data.now) - Date.now();
      fill(document.getElementById("waiting-rows"), data.waiting, 5, waitingRow);
      fill(document.getElementById("mine-rows"), data.mine, 4, mineRow);
      fill(document.getElementById("missed-rows"), data.missed, 5, waitingRow);
      document.getElementById("missed-count").textContent = data.missed.length;
      var available = document.getElementById("available-list");
      available.textContent = data.available.length ? data.available.join(", ") : available.getAttribute("data-empty");
      document.getElementById("waiting-count").textContent = data.waiting.length;
      document.getElementById("mine-count").textContent = data.mine.length;
      var status = document.getElementById("reindex-status");
      status.textContent = reindexText(data.reindex);
      status.setAttribute("data-state", data.reindex.state);
      tick();
    });
    window.setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var transcript = document.getElementById("transcript");
    if (transcript && transcript.hasAttribute("data-events")) followConversation(transcript);
    var reply = document.getElementById("reply");
    if (reply) sendReplies(reply);
    var queue = document.getElementById("queue");
    if (queue) followQueue(queue);
  });
})();
