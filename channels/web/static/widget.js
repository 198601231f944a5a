/* Answerdesk chat widget: one <script src=".../static/widget.js" defer></script> embeds it.
 *
 * Plain JavaScript, no build step, no external resources. It talks to the JSON API of the
 * server that served this file (see channels/web/openapi.yaml) and listens for live updates
 * on an EventSource. Server text is only ever put in the page as text nodes: never innerHTML.
 */
(() => {
  "use strict";
  if (window.answerdeskWidget) return; // embedded twice: keep the first

  const script = document.currentScript
    || Array.from(document.scripts).find((s) => /\/widget\.js(?:[?#]|$)/.test(s.src));
  const scriptUrl = new URL(script && script.src ? script.src : "/static/widget.js", location.href);
  const apiUrl = (path) => new URL(path, scriptUrl.origin).toString();
  const STORAGE_KEY = "answerdesk.conversation";
  const OPEN_KEY = "answerdesk.open";
  const GREETING_KEY = "answerdesk.greeting";
  const REQUEST_TIMEOUT_MS = 30000;
  const STREAM_RETRY_MS = 15000; // a refused stream (429, 503) is tried again this much later, not at once

  // The widget's own words; messages come from the server already in the customer's language.
  const TEXTS = {
    en: {
      title: "Customer support", launcher: "Chat with us", launcherUnread: "Chat with us (new message)",
      close: "Close chat", placeholder: "Type your question…", inputLabel: "Your message", send: "Send",
      human: "Talk to a person", feedback: "Did this answer your question?", yes: "Yes", no: "No",
      updated: "updated {date}", fullArticle: "Full article:", typing: "The assistant is typing…", retry: "Retry",
      sendFailed: "Your message was not sent.", failed: "Something went wrong.", startFailed: "Could not start the chat.", slowDown: "You're sending messages quickly. Please wait a moment and try again.",
      you: "You", bot: "Assistant", agent: "Support team", waiting: "Waiting for a person…", missed: "Our team will answer here",
      withAgent: "You are chatting with a person", closed: "Conversation closed", choices: "Suggested articles",
      rating: "Rate this conversation", rate: "{n} out of 5", transcript: "Conversation",
    },
    ar: {
      title: "خدمة العملاء", launcher: "تحدث معنا", launcherUnread: "تحدث معنا (رسالة جديدة)",
      close: "إغلاق المحادثة", placeholder: "اكتب سؤالك…", inputLabel: "رسالتك", send: "إرسال",
      human: "التحدث مع شخص", feedback: "هل أجاب هذا عن سؤالك؟", yes: "نعم", no: "لا",
      updated: "آخر تحديث {date}", fullArticle: "المقالة كاملة:", typing: "المساعد يكتب…", retry: "إعادة المحاولة",
      sendFailed: "لم تُرسل رسالتك.", failed: "حدث خطأ ما.", startFailed: "تعذر بدء المحادثة.", slowDown: "أنت ترسل الرسائل بسرعة. يُرجى الانتظار قليلًا ثم المحاولة مرة أخرى.",
      you: "أنت", bot: "المساعد", agent: "فريق الدعم", waiting: "في انتظار موظف…", missed: "سيرد فريقنا هنا",
      withAgent: "أنت تتحدث مع شخص", closed: "المحادثة مغلقة", choices: "مقالات مقترحة",
      rating: "قيّم هذه المحادثة", rate: "{n} من 5", transcript: "المحادثة",
    },
    tr: {
      title: "Müşteri desteği", launcher: "Bize yazın", launcherUnread: "Bize yazın (yeni mesaj)",
      close: "Sohbeti kapat", placeholder: "Sorunuzu yazın…", inputLabel: "Mesajınız", send: "Gönder",
      human: "Bir kişiyle konuş", feedback: "Bu, sorunuzu yanıtladı mı?", yes: "Evet", no: "Hayır",
      updated: "güncellendi: {date}", fullArticle: "Makalenin tamamı:", typing: "Asistan yazıyor…", retry: "Tekrar dene",
      sendFailed: "Mesajınız gönderilemedi.", failed: "Bir sorun oluştu.", startFailed: "Sohbet başlatılamadı.", slowDown: "Çok hızlı mesaj gönderiyorsunuz. Lütfen biraz bekleyip tekrar deneyin.",
      you: "Siz", bot: "Asistan", agent: "Destek ekibi", waiting: "Bir temsilci bekleniyor…", missed: "Ekibimiz buradan cevap verecek",
      withAgent: "Bir kişiyle konuşuyorsunuz", closed: "Sohbet kapandı", choices: "Önerilen makaleler",
      rating: "Bu sohbeti puanlayın", rate: "5 üzerinden {n}", transcript: "Sohbet",
    },
    es: {
      title: "Atención al cliente", launcher: "Chatea con nosotros", launcherUnread: "Chatea con nosotros (mensaje nuevo)",
      close: "Cerrar el chat", placeholder: "Escribe tu pregunta…", inputLabel: "Tu mensaje", send: "Enviar",
      human: "Hablar con una persona", feedback: "¿Respondió esto a tu pregunta?", yes: "Sí", no: "No",
      updated: "actualizado el {date}", fullArticle: "Artículo completo:", typing: "El asistente está escribiendo…", retry: "Reintentar",
      sendFailed: "Tu mensaje no se envió.", failed: "Algo salió mal.", startFailed: "No se pudo iniciar el chat.", slowDown: "Estás enviando mensajes muy rápido. Espera un momento y vuelve a intentarlo.",
      you: "Tú", bot: "Asistente", agent: "Equipo de soporte", waiting: "Esperando a una persona…", missed: "Nuestro equipo le responderá aquí",
      withAgent: "Estás hablando con una persona", closed: "Conversación cerrada", choices: "Artículos sugeridos",
      rating: "Valora esta conversación", rate: "{n} de 5", transcript: "Conversación",
    },
  };
  const RTL_LANGS = new Set(["ar", "fa", "he", "ur"]);
  const RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
  const ARABIC_CHAR = /[\u0600-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]/;
  const HEBREW_CHAR = /[\u0590-\u05FF\uFB1D-\uFB4F]/;
  const LTR_CHAR = /[A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF]/;
  // Bot messages that are notices about the conversation rather than answers.
  // What a message is (bot/actions.py's Action; tests/channels/web/test_widget_actions.py keeps them equal).
  const ACTION = Object.freeze({
    ANSWER: "answer",
    CLARIFY: "clarify",
    HANDOFF: "handoff",
    SMALLTALK: "smalltalk",
    HANDOFF_REQUESTED: "handoff_requested",
    HANDOFF_AFTER_NO: "handoff_after_negative_feedback",
    FEEDBACK_THANKS: "feedback_thanks",
    AGENT_JOINED: "agent_joined",
    AGENT_TOOK_OVER: "agent_took_over",
    BACK_TO_BOT: "back_to_bot",
    CONVERSATION_CLOSED: "conversation_closed",
    CSAT_QUESTION: "csat_question",
    CSAT_THANKS: "csat_thanks",
    NO_AGENT_AVAILABLE: "no_agent_available",
    NO_AGENT_EMAIL_KNOWN: "no_agent_email_known",
    REPLY_BY_EMAIL: "reply_by_email",
    OUTSIDE_HOURS: "outside_hours",
    ASK_EMAIL: "ask_email",
    EMAIL_INVALID: "email_invalid",
    TICKET_CREATED: "ticket_created",
    NOTE: "note",
  });
  const NOTICES = new Set([ACTION.AGENT_JOINED, ACTION.BACK_TO_BOT, ACTION.CONVERSATION_CLOSED, ACTION.HANDOFF_REQUESTED, ACTION.NO_AGENT_AVAILABLE, ACTION.NO_AGENT_EMAIL_KNOWN]);
  const FEEDBACK_DONE = new Set([ACTION.FEEDBACK_THANKS, ACTION.HANDOFF_AFTER_NO]);
  const GREETING = "greeting"; // the widget's own first line, never stored

  // -- state ------------------------------------------------------------------------
  let conversationId = null;
  let uiLang = pickLang(navigator.language);
  let state = "bot";
  let events = null;
  let starting = null; // the promise of loading or creating the conversation
  let busy = 0; // requests waiting for the bot's reply: show the typing indicator
  let agentName = "";

  // -- DOM ----------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function icon(pathData) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.append(path);
    return svg;
  }
  const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  const CLOSE_ICON = "M6 6l12 12M18 6L6 18";
  const SEND_ICON = "M3 20l18-8L3 4v6l12 2-12 2z";

  const root = el("div", { class: "ad-root" });
  root.style.display = "none"; // until widget.css has loaded (CSSOM: allowed by a strict style-src)
  const launcherLabel = el("span", { class: "ad-launcher-label" });
  const launcher = el("button", { type: "button", class: "ad-launcher", "aria-expanded": "false", "aria-controls": "ad-panel" },
    icon(CHAT_ICON), launcherLabel, el("span", { class: "ad-unread", "aria-hidden": "true" }));
  const title = el("h2", { class: "ad-title", id: "ad-title" });
  const status = el("p", { class: "ad-status", id: "ad-status", "aria-live": "polite" });
  const closeButton = el("button", { type: "button", class: "ad-close" }, icon(CLOSE_ICON));
  const transcript = el("div", { class: "ad-transcript", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
  const typingText = el("span", { class: "ad-sr" });
  const typing = el("div", { class: "ad-typing", hidden: true, role: "status" },
    el("span", { class: "ad-dot", "aria-hidden": "true" }), el("span", { class: "ad-dot", "aria-hidden": "true" }),
    el("span", { class: "ad-dot", "aria-hidden": "true" }), typingText);
  const errorBox = el("div", { class: "ad-error", role: "alert", hidden: true });
  const humanButton = el("button", { type: "button", class: "ad-human" });
  const inputLabel = el("label", { class: "ad-sr", for: "ad-input" });
  const input = el("input", { type: "text", id: "ad-input", class: "ad-input", autocomplete: "off", enterkeyhint: "send", maxlength: "4000" });
  const sendButton = el("button", { type: "submit", class: "ad-send" }, icon(SEND_ICON), el("span", { class: "ad-send-label" }));
  const form = el("form", { class: "ad-form", novalidate: true }, inputLabel, input, sendButton);
  const panel = el("section", { class: "ad-panel", id: "ad-panel", role: "dialog", "aria-labelledby": "ad-title", "aria-describedby": "ad-status", hidden: true },
    el("header", { class: "ad-header" }, el("div", { class: "ad-heading" }, title, status), closeButton),
    transcript, typing, errorBox,
    el("div", { class: "ad-tools" }, humanButton),
    form);
  root.append(panel, launcher);

  function t(key, fields) {
    let text = (TEXTS[uiLang] || TEXTS.en)[key] || TEXTS.en[key] || key;
    for (const [name, value] of Object.entries(fields || {})) text = text.replace(`{${name}}`, value);
    return text;
  }

  function pickLang(tag) {
    const code = String(tag || "").toLowerCase().split(/[-_;,]/)[0];
    return code && (TEXTS[code] || RTL_LANGS.has(code)) ? code : "en";
  }

  function applyChrome() {
    const rtl = RTL_LANGS.has(uiLang);
    panel.setAttribute("dir", rtl ? "rtl" : "ltr");
    panel.setAttribute("lang", uiLang);
    const unread = launcher.classList.contains("ad-has-unread");
    launcherLabel.textContent = t("launcher");
    launcher.setAttribute("aria-label", t(unread ? "launcherUnread" : "launcher"));
    title.textContent = t("title");
    closeButton.setAttribute("aria-label", t("close"));
    transcript.setAttribute("aria-label", t("transcript"));
    typingText.textContent = t("typing");
    humanButton.textContent = t("human");
    inputLabel.textContent = t("inputLabel");
    input.placeholder = t("placeholder");
    sendButton.setAttribute("aria-label", t("send"));
    sendButton.querySelector(".ad-send-label").textContent = t("send");
    applyState();
  }

  function applyState() {
    root.dataset.state = state;
    syncStream();
    humanButton.hidden = (state !== "bot" && state !== "missed") || !conversationId;
    if (state === "waiting") status.textContent = t("waiting");
    else if (state === "missed") status.textContent = t("missed");
    else if (state === "agent") status.textContent = agentName ? `${agentName} · ${t("agent")}` : t("withAgent");
    else if (state === "closed") status.textContent = t("closed");
    else status.textContent = "";
  }

  // -- the conversation language decides the chrome's language and direction ----------
  function scriptDirection(text) {
    for (const ch of String(text || "")) {
      if (RTL_CHAR.test(ch)) return "rtl";
      if (LTR_CHAR.test(ch)) return "ltr";
    }
    return null;
  }

  function followLanguage(msg) {
    let lang = null;
    if (msg.lang) lang = pickLang(msg.lang);
    else if (scriptDirection(msg.text) === "rtl") lang = HEBREW_CHAR.test(msg.text) && !ARABIC_CHAR.test(msg.text) ? "he" : "ar";
    else if (RTL_LANGS.has(uiLang) && scriptDirection(msg.text) === "ltr" && msg.author === "customer") lang = "en";
    if (lang && lang !== uiLang) {
      uiLang = lang;
      applyChrome();
    }
  }

  // -- rendering messages ----------------------------------------------------------------
  /* Markdown-ish: **bold**, "# heading" lines and the answer's title line become <strong>;
     everything else is text. */
  function formatText(text, title) {
    const fragment = document.createDocumentFragment();
    const lines = String(text || "").split(/\r?\n/);
    lines.forEach((line, i) => {
      if (i > 0) fragment.append("\n");
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading || (title && line.trim() === title)) {
        fragment.append(el("strong", { text: heading ? heading[1] : line }));
        return;
      }
      const parts = line.split(/\*\*(.+?)\*\*/);
      parts.forEach((part, j) => {
        if (!part) return;
        fragment.append(j % 2 ? el("strong", { text: part }) : document.createTextNode(part));
      });
    });
    return fragment;
  }

  /* The visitor's own words are shown exactly as typed; the bot's and agents' get formatted. */
  function textOf(msg) {
    if (msg.author === "customer") return document.createTextNode(String(msg.text || ""));
    return formatText(msg.text, msg.action === ACTION.ANSWER ? msg.article_title : null);
  }

  function safeUrl(raw) {
    try {
      const url = new URL(raw, scriptUrl.origin);
      return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : null;
    } catch (e) {
      return null;
    }
  }

  function formatDate(raw) {
    const date = new Date(raw);
    if (!raw || Number.isNaN(date.getTime())) return String(raw || "");
    try {
      return new Intl.DateTimeFormat(uiLang, { dateStyle: "medium" }).format(date);
    } catch (e) {
      return date.toISOString().slice(0, 10);
    }
  }

  function authorLabel(msg) {
    if (msg.author === "customer") return t("you");
    if (msg.author === "agent") return msg.agent_name || t("agent");
    return t("bot");
  }

  /* "Full article: <title> · updated <date>" under an answer: the answer is the part that answers. */
  function articleLink(msg) {
    const href = safeUrl(msg.article_url || (msg.article_id ? `/articles/${encodeURIComponent(msg.article_lang || msg.lang || uiLang)}/${encodeURIComponent(msg.article_id)}` : ""));
    if (!href) return null;
    const link = el("a", { class: "ad-article-link", href, target: "_blank", rel: "noopener" },
      el("span", { class: "ad-article-title", text: msg.article_title || msg.article_id }));
    const box = el("p", { class: "ad-article" }, el("span", { class: "ad-article-label", text: t("fullArticle") }), " ", link);
    if (msg.article_updated) {
      box.append(el("span", { class: "ad-article-sep", "aria-hidden": "true", text: " · " }),
        el("span", { class: "ad-article-updated", text: t("updated", { date: formatDate(msg.article_updated) }) }));
    }
    return box;
  }

  function buttonRow(className, label, buttons) {
    return el("div", { class: `ad-actions ${className}`, role: "group", "aria-label": label }, ...buttons);
  }

  function feedbackBlock(msg) {
    const question = el("p", { class: "ad-question", text: t("feedback") });
    const yes = el("button", { type: "button", class: "ad-chip", text: t("yes") });
    const no = el("button", { type: "button", class: "ad-chip", text: t("no") });
    const row = buttonRow("ad-feedback", t("feedback"), [yes, no]);
    const rate = (helpful, button) => act(row, button, `/api/conversations/${conversationId}/feedback`, { message_id: msg.id, helpful });
    yes.addEventListener("click", () => rate(true, yes));
    no.addEventListener("click", () => rate(false, no));
    return el("div", { class: "ad-feedback-box" }, question, row);
  }

  function choicesBlock(msg) {
    const buttons = (msg.choices || []).map((choice) => {
      const button = el("button", { type: "button", class: "ad-chip ad-choice", text: choice.title || choice.article_id });
      button.addEventListener("click", () => act(row, button, `/api/conversations/${conversationId}/choices`, { article_id: choice.article_id }));
      return button;
    });
    const row = buttonRow("ad-choices", t("choices"), buttons);
    return row;
  }

  function csatBlock() {
    const buttons = [1, 2, 3, 4, 5].map((n) => el("button", { type: "button", class: "ad-chip ad-star", "aria-label": t("rate", { n }), text: String(n) }));
    const row = buttonRow("ad-csat", t("rating"), buttons);
    buttons.forEach((button, i) => button.addEventListener("click", () => act(row, button, `/api/conversations/${conversationId}/feedback`, { csat: i + 1 })));
    return row;
  }

  function renderMessage(msg) {
    const kind = msg.author === "bot" && NOTICES.has(msg.action) ? "notice" : msg.author;
    const node = el("div", { class: `ad-msg ad-msg-${kind}`, "data-author": msg.author, "data-action": msg.action || null });
    if (msg.id !== undefined && msg.id !== null) node.dataset.id = String(msg.id);
    const label = el("span", { class: msg.author === "agent" ? "ad-author" : "ad-author ad-sr", text: authorLabel(msg) });
    const bubble = el("div", { class: "ad-bubble", dir: "auto" }, label, el("span", { class: "ad-text" }, textOf(msg)));
    node.append(bubble);
    if (msg.author === "bot" && msg.action === ACTION.ANSWER) {
      const link = articleLink(msg);
      if (link) bubble.append(link);
      node.append(feedbackBlock(msg));
    } else if (msg.author === "bot" && msg.action === ACTION.CLARIFY && (msg.choices || []).length) {
      node.append(choicesBlock(msg));
    } else if (msg.author === "bot" && msg.action === ACTION.CSAT_QUESTION) {
      node.append(csatBlock());
    }
    return node;
  }

  const seen = new Map(); // message id -> the message as last rendered

  function idOf(node) {
    return node.dataset.id === undefined ? Infinity : Number(node.dataset.id);
  }

  /* Add a message once, in id order; a richer copy (with the article link) replaces a plain one.
     `reveal`: scroll it into view (handleTurn reveals a turn's replies together instead). */
  function addMessage(msg, { live = false, reveal = true } = {}) {
    if (!msg || msg.id === undefined || msg.id === null) return;
    const id = Number(msg.id);
    const known = seen.get(id);
    if (known) {
      if (msg.article_url && !known.article_url) {
        const old = transcript.querySelector(`.ad-msg[data-id="${id}"]`);
        seen.set(id, msg);
        if (old) old.replaceWith(settleNew(renderMessage(msg), old));
      }
      return;
    }
    seen.set(id, msg);
    if (msg.author === "agent" && msg.agent_name) agentName = msg.agent_name;
    let node = null;
    if (msg.author === "customer") {
      // Our own message, echoed by the stream before the POST answered: adopt the pending bubble.
      node = Array.from(transcript.querySelectorAll(".ad-msg.ad-pending")).find((n) => n.dataset.text === msg.text) || null;
      if (node) {
        node.classList.remove("ad-pending");
        node.dataset.id = String(id);
        delete node.dataset.text;
        node.remove();
      }
    }
    node = node || renderMessage(msg);
    const later = Array.from(transcript.querySelectorAll(".ad-msg[data-id]")).find((n) => idOf(n) > id);
    transcript.insertBefore(node, later || transcript.querySelector(".ad-msg.ad-pending"));
    settleEarlier(msg, id);
    followLanguage(msg);
    if (live && msg.author !== "customer" && panel.hidden) markUnread(true);
    if (reveal) revealMessage(node);
  }

  /* Once answered, the buttons of earlier questions stop working. */
  function settleEarlier(msg, id) {
    const earlier = (selector) => Array.from(transcript.querySelectorAll(selector)).filter((n) => idOf(n) < id);
    if (msg.author === "bot" && FEEDBACK_DONE.has(msg.action)) {
      const answers = earlier(`.ad-msg[data-action="${ACTION.ANSWER}"]`);
      if (answers.length) disableIn(answers[answers.length - 1].querySelector(".ad-feedback"));
    }
    if (msg.author === "bot" && msg.action === ACTION.CSAT_THANKS) earlier(`.ad-msg[data-action="${ACTION.CSAT_QUESTION}"]`).forEach((n) => disableIn(n.querySelector(".ad-csat")));
    if (msg.author === "customer") earlier(`.ad-msg[data-action="${ACTION.CLARIFY}"]`).forEach((n) => disableIn(n.querySelector(".ad-choices")));
  }

  function settleNew(node, old) {
    old.querySelectorAll(".ad-actions").forEach((row, i) => {
      const fresh = node.querySelectorAll(".ad-actions")[i];
      if (fresh && row.querySelector("button:disabled")) {
        fresh.querySelectorAll("button").forEach((b, j) => {
          b.disabled = true;
          b.setAttribute("aria-pressed", row.querySelectorAll("button")[j].getAttribute("aria-pressed") || "false");
        });
      }
    });
    return node;
  }

  function disableIn(row) {
    if (row) row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  }

  function scrollToEnd() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  /* The customer's own message: the end. Anything said to them: as far down as possible while the
     message's first line stays in view, so a long answer is read from its start (on a phone too). */
  function revealMessage(node) {
    if (!node || node.dataset.author === "customer") {
      scrollToEnd();
      return;
    }
    const gap = 8;
    const start = transcript.scrollTop + node.getBoundingClientRect().top - transcript.getBoundingClientRect().top - gap;
    const end = transcript.scrollHeight - transcript.clientHeight;
    transcript.scrollTop = Math.max(0, Math.min(start, end));
  }

  /* The newest message, as revealMessage shows it (opening the panel, an answer that arrived while it was closed). */
  function revealLatest() {
    const all = transcript.querySelectorAll(".ad-msg");
    revealMessage(all.length ? all[all.length - 1] : null);
  }

  function showTyping(delta) {
    busy = Math.max(0, busy + delta);
    typing.hidden = busy === 0;
    syncStream();
    if (!typing.hidden) scrollToEnd();
  }

  function markUnread(on) {
    launcher.classList.toggle("ad-has-unread", on);
    launcher.setAttribute("aria-label", t(on ? "launcherUnread" : "launcher"));
  }

  // -- errors ------------------------------------------------------------------------
  /* `error` (a failed request) decides the words: 429, a rate limit, asks to slow down and
     keeps the retry button disabled for the server's Retry-After (at most a minute). */
  function showError(message, retry, error) {
    const limited = error instanceof HttpError && error.status === 429;
    errorBox.replaceChildren(el("span", { text: limited ? t("slowDown") : message }));
    if (retry) {
      const button = el("button", { type: "button", class: "ad-retry", text: t("retry") });
      button.addEventListener("click", () => { hideError(); retry(); });
      if (limited) {
        button.disabled = true;
        setTimeout(() => { button.disabled = false; }, Math.min(60, Math.max(1, error.retryAfter || 5)) * 1000);
      }
      errorBox.append(button);
    }
    errorBox.hidden = false;
    scrollToEnd();
  }

  function hideError() {
    errorBox.hidden = true;
    errorBox.replaceChildren();
  }

  // -- the API -----------------------------------------------------------------------
  class HttpError extends Error {
    constructor(status, text, retryAfter) {
      super(`HTTP ${status}: ${text}`);
      this.status = status;
      this.retryAfter = retryAfter; // seconds (429, 503), or NaN
    }
  }

  async function request(method, path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(apiUrl(path), {
        method,
        headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok) {
        throw new HttpError(response.status, await response.text().catch(() => ""), Number(response.headers.get("Retry-After")));
      }
      return response.status === 204 ? {} : await response.json();
    } finally {
      clearTimeout(timer);
    }
  }

  function store(key, value) {
    try {
      if (value) localStorage.setItem(key, value);
      else localStorage.removeItem(key);
    } catch (e) { /* storage disabled: the conversation lasts as long as the page */ }
  }

  function recall(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function adopt(conversation) {
    conversationId = conversation.id;
    store(STORAGE_KEY, conversation.id);
    if (conversation.lang) uiLang = pickLang(conversation.lang);
    if (conversation.state) state = conversation.state;
    applyChrome();
  }

  /* The greeting is not a stored message: keep its text so a reload shows it again. */
  function greet(text) {
    if (text) addMessage({ id: 0, author: "bot", action: GREETING, text: String(text) });
  }

  async function load(id) {
    let conversation;
    try {
      conversation = await request("GET", `/api/conversations/${encodeURIComponent(id)}`);
    } catch (e) {
      if (e instanceof HttpError && (e.status === 404 || e.status === 410 || e.status === 403)) {
        store(STORAGE_KEY, null);
        store(GREETING_KEY, null);
        return false;
      }
      throw e;
    }
    adopt(conversation);
    greet(recall(GREETING_KEY));
    for (const msg of conversation.messages || []) addMessage(msg);
    if (conversation.lang) uiLang = pickLang(conversation.lang); // the server's word beats the scripts seen
    applyChrome();
    syncStream();
    return true;
  }

  async function create() {
    const conversation = await request("POST", "/api/conversations", { lang: navigator.language || "" });
    const greeting = typeof conversation.greeting === "object" && conversation.greeting ? conversation.greeting.text : conversation.greeting;
    store(GREETING_KEY, greeting || null);
    // The visitor's open conversation may have messages already (opened from an answer e-mail's link).
    if (await load(conversation.id)) return;
    adopt(conversation);
    greet(greeting);
    syncStream();
  }

  /* The stored conversation, or a new one; retried from the error line when it fails. */
  function start() {
    if (conversationId) return Promise.resolve(true);
    if (!starting) {
      const stored = recall(STORAGE_KEY);
      starting = (async () => {
        if (stored && await load(stored)) return true;
        await create();
        return true;
      })().catch((e) => {
        starting = null;
        showError(t("startFailed"), () => start(), e);
        console.warn("answerdesk: could not start the conversation", e);
        return false;
      });
    }
    return starting;
  }

  /* A live stream costs the server a connection: hold one only while the panel is open, a
     reply is awaited, or a person has the conversation (their reply may come at any time). */
  function wantStream() {
    return Boolean(conversationId) && (!panel.hidden || busy > 0 || state === "waiting" || state === "agent");
  }

  function syncStream() {
    if (wantStream()) {
      if (!events) listen();
    } else if (events) {
      events.close();
      events = null;
    }
  }

  function listen() {
    if (events) events.close();
    if (typeof EventSource !== "function") return;
    const after = Math.max(0, ...Array.from(seen.keys()));
    const source = new EventSource(apiUrl(`/api/conversations/${encodeURIComponent(conversationId)}/events?after=${after}`));
    events = source;
    // A refused stream (429: too many open, 503) is closed for good by EventSource: open it again
    // later, once, rather than never or in a tight loop.
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED || events !== source) return;
      events = null;
      setTimeout(() => { if (!events) syncStream(); }, STREAM_RETRY_MS);
    };
    events.onmessage = (event) => {
      try {
        addMessage(JSON.parse(event.data), { live: true });
      } catch (e) {
        console.warn("answerdesk: unreadable event", e);
      }
    };
    events.addEventListener("state", (event) => {
      let next = event.data;
      try {
        const data = JSON.parse(event.data);
        next = typeof data === "string" ? data : data.state;
      } catch (e) { /* plain text state */ }
      if (next) {
        state = next;
        applyState();
      }
    });
  }

  function handleTurn(data) {
    if (data.message) addMessage(data.message);
    for (const reply of data.replies || []) addMessage(reply, { reveal: false });
    // The first reply's start (the stream may have shown it already): several replies are read from the top.
    const first = (data.replies || []).find((r) => r && r.id !== undefined && r.id !== null);
    const node = first ? transcript.querySelector(`.ad-msg[data-id="${Number(first.id)}"]`) : null;
    if (node) revealMessage(node);
    if (data.state) {
      state = data.state;
      applyState();
    }
  }

  /* A button that answers the bot (feedback, a choice, a rating): disable its row while it counts. */
  async function act(row, button, path, body) {
    if (!(await start())) return;
    const buttons = Array.from(row.querySelectorAll("button"));
    buttons.forEach((b) => { b.disabled = true; });
    button.setAttribute("aria-pressed", "true");
    hideError();
    showTyping(+1);
    try {
      handleTurn(await request("POST", path, body));
    } catch (e) {
      buttons.forEach((b) => { b.disabled = false; });
      button.setAttribute("aria-pressed", "false");
      showError(t("failed"), () => act(row, button, path, body), e);
    } finally {
      showTyping(-1);
    }
  }

  async function askForPerson() {
    if (!(await start())) return;
    humanButton.disabled = true;
    hideError();
    showTyping(+1);
    try {
      handleTurn(await request("POST", `/api/conversations/${conversationId}/human`, {}));
    } catch (e) {
      showError(t("failed"), askForPerson, e);
    } finally {
      humanButton.disabled = false;
      showTyping(-1);
    }
  }

  // One id per message, kept across retries: a retry of a message the server stored before the
  // connection broke is answered from the store instead of being stored twice.
  function newClientId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https; this does not
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function send(text, clientId = newClientId()) {
    if (!text) return;
    hideError();
    const pending = el("div", { class: "ad-msg ad-msg-customer ad-pending", "data-author": "customer" },
      el("div", { class: "ad-bubble", dir: "auto" }, el("span", { class: "ad-author ad-sr", text: t("you") }), el("span", { class: "ad-text", text })));
    pending.dataset.text = text;
    transcript.append(pending);
    followLanguage({ author: "customer", text });
    scrollToEnd();
    showTyping(+1);
    try {
      if (!(await start())) throw new Error("no conversation");
      const data = await request("POST", `/api/conversations/${conversationId}/messages`, { text, client_id: clientId });
      handleTurn(data); // adopts the pending bubble as the stored message
      if (pending.classList.contains("ad-pending")) pending.remove();
    } catch (e) {
      pending.remove();
      if (!input.value) input.value = text; // the typed text is not lost
      showError(t("sendFailed"), () => {
        if (input.value === text) input.value = "";
        send(text, clientId);
      }, e);
      console.warn("answerdesk: could not send", e);
    } finally {
      showTyping(-1);
    }
  }

  // -- opening and closing ----------------------------------------------------------------
  function open() {
    panel.hidden = false;
    root.classList.add("ad-open");
    launcher.setAttribute("aria-expanded", "true");
    markUnread(false);
    store(OPEN_KEY, "1");
    revealLatest();
    input.focus();
    start().then(syncStream);
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("ad-open");
    launcher.setAttribute("aria-expanded", "false");
    store(OPEN_KEY, null);
    launcher.focus();
    syncStream();
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  closeButton.addEventListener("click", close);
  humanButton.addEventListener("click", askForPerson);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  function mount() {
    const stylesheet = el("link", { rel: "stylesheet", href: new URL("widget.css", scriptUrl).toString() });
    const reveal = () => { root.style.display = ""; };
    stylesheet.addEventListener("load", reveal);
    stylesheet.addEventListener("error", reveal);
    setTimeout(reveal, 3000);
    document.head.append(stylesheet);
    document.body.append(root);
    applyChrome();
    if (new URLSearchParams(location.search).get("chat") === "open") {
      open(); // the link in an answer e-mail: the conversation is this browser's now
      return;
    }
    if (recall(STORAGE_KEY)) {
      start();
      if (recall(OPEN_KEY)) {
        panel.hidden = false;
        root.classList.add("ad-open");
        launcher.setAttribute("aria-expanded", "true");
      }
    }
  }

  window.answerdeskWidget = { open, close };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
