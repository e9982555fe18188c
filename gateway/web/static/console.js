/* 连心桥工作台: what JavaScript adds to pages that work without it — live countdowns, the
   duty board refreshing itself with a visible and audible alert for a new issue, the
   caller's earlier issues at the hotline, confirmations, the unread count. */
(function () {
  "use strict";

  function two(n) { return n < 10 ? "0" + n : String(n); }

  /* -- deadlines: "剩余 8分12秒" / "已超时 3分钟", colour and words alike ------------------ */
  function words(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    if (d) return d + "天" + (h ? h + "小时" : "");
    if (h) return h + "小时" + (m ? m + "分" : "");
    return m + "分" + two(s % 60) + "秒";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-deadline")), soon = Date.parse(el.getAttribute("data-soon") || "");
      if (isNaN(due)) return;
      var late = now >= due, near = !late && !isNaN(soon) && now >= soon;
      el.textContent = late ? "已超时 " + words(now - due) : (near ? "即将到期 剩余 " : "剩余 ") + words(due - now);
      el.classList.toggle("late", late);
      el.classList.toggle("soon", near);
      var row = el.closest("tr");
      if (row) { row.classList.toggle("late", late); row.classList.toggle("soon", near); }
    });
  }

  /* -- sound: a short two-tone chime, once the cadre has allowed it ----------------------- */
  var audio = null;
  window.lianxinChimes = 0;
  function soundOn() { return localStorage.getItem("lianxin.sound") !== "off"; }
  function chime() {
    window.lianxinChimes += 1;
    if (!soundOn()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 660].forEach(function (f, i) {
        var o = audio.createOscillator(), g = audio.createGain(), t = audio.currentTime + i * 0.22;
        o.frequency.value = f; o.connect(g); g.connect(audio.destination);
        g.gain.setValueAtTime(0.0001, t); g.gain.exponentialRampToValueAtTime(0.3, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.2); o.start(t); o.stop(t + 0.21);
      });
    } catch (e) { /* no audio here: the visible alert stays */ }
  }
  function soundToggle() {
    var button = document.querySelector("[data-sound-toggle]");
    if (!button) return;
    function show() {
      button.setAttribute("aria-pressed", soundOn() ? "true" : "false");
      button.textContent = soundOn() ? "声音提醒：开" : "声音提醒：关";
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      localStorage.setItem("lianxin.sound", soundOn() ? "off" : "on");
      if (soundOn()) { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); audio.resume(); }
      show();
    });
    show();
    // Browsers start sound only after a click or key on the page.
    ["click", "keydown"].forEach(function (kind) {
      document.addEventListener(kind, function () {
        if (soundOn() && !audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) {} }
        if (audio && audio.state === "suspended") audio.resume();
      }, { once: true });
    });
  }

  /* -- the live board: asks for its rows every 1.5 s, 304 when nothing changed ------------ */
  function live(box) {
    var src = box.getAttribute("data-live"), etag = null, known = null, alertBox = document.querySelector("[data-new-alert]");
    function ids(root) {
      var found = {};
      root.querySelectorAll("[data-ticket-id]").forEach(function (el) { found[el.getAttribute("data-ticket-id")] = el; });
      return found;
    }
    known = ids(box);
    function refresh() {
      if (box.contains(document.activeElement) && document.activeElement !== box) return schedule();
      var headers = { "Accept": "text/html" };
      if (etag) headers["If-None-Match"] = etag;
      fetch(src, { headers: headers, credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
        if (r.status !== 200) return null;
        etag = r.headers.get("ETag");
        return r.text();
      }).then(function (html) {
        if (html === null || html === undefined) return;
        var next = document.createElement("div");
        next.innerHTML = html;
        var now = ids(next), fresh = [];
        Object.keys(now).forEach(function (id) { if (!known[id]) { fresh.push(now[id]); now[id].classList.add("fresh"); } });
        box.innerHTML = next.innerHTML;
        known = ids(box);
        fresh = fresh.map(function (el) { return box.querySelector('[data-ticket-id="' + el.getAttribute("data-ticket-id") + '"]'); });
        var unread = box.querySelector("[data-unread-now]");
        if (unread) setUnread(parseInt(unread.getAttribute("data-unread-now"), 10));
        if (fresh.length && alertBox) {
          var first = fresh[0], summary = first ? first.getAttribute("data-summary") : "";
          alertBox.textContent = "新诉求 " + fresh.length + " 件：" + summary + "（请尽快签收）";
          alertBox.hidden = false;
          document.title = "【新诉求】" + document.title.replace(/^【新诉求】/, "");
          chime();
        }
        tick();
      }).catch(function () { /* offline for a moment: try again */ }).then(schedule);
    }
    var timer = null;
    function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 1500); }
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    if (alertBox) alertBox.addEventListener("click", function () {
      alertBox.hidden = true; document.title = document.title.replace(/^【新诉求】/, "");
    });
    schedule();
  }

  /* -- the unread count in the header ---------------------------------------------------- */
  function setUnread(n) {
    var badge = document.querySelector("[data-unread]");
    if (!badge || isNaN(n)) return;
    badge.textContent = String(n);
    badge.classList.toggle("zero", n === 0);
  }
  function pollUnread() {
    fetch("/api/v1/notifications/unread-count", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) { if (body) setUnread(body.unread); }).catch(function () {});
  }

  /* -- hotline intake: the caller's earlier issues as soon as the number is typed --------- */
  function caller(input) {
    var target = document.querySelector("[data-caller]"), last = "";
    function look() {
      var phone = input.value.replace(/\D/g, "");
      if (phone.length !== 11 || phone === last) return;
      last = phone;
      fetch(input.getAttribute("data-caller-src") + "?phone=" + encodeURIComponent(phone), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && target) target.innerHTML = html; })
        .catch(function () {});
    }
    input.addEventListener("input", look);
    input.addEventListener("change", look);
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    soundToggle();
    document.querySelectorAll("[data-live]").forEach(live);
    document.querySelectorAll("[data-caller-src]").forEach(caller);
    if (document.querySelector("[data-unread]") && !document.querySelector("[data-live]")) setInterval(pollUnread, 30000);
    document.addEventListener("submit", function (event) {
      var form = event.target, question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); return; }
      // One submission per form: a double click never sends it twice.
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      if (form.method.toLowerCase() === "post") form.setAttribute("data-sent", "1");
    }, true);
    // Intake: the chosen category's extra questions only.
    var category = document.querySelector("#f-category");
    if (category) {
      var showQuestions = function () {
        document.querySelectorAll("[data-for-category]").forEach(function (box) {
          box.hidden = box.getAttribute("data-for-category") !== category.value;
        });
      };
      category.addEventListener("change", showQuestions);
      showQuestions();
    }
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("form[data-ctrl-enter]").forEach(function (form) {
      form.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
      });
    });
  });
})();
