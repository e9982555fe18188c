// The phone pages' one script. Every page works without it; it only adds: asking before a
// cancel, photo previews, the location (the browser asks the resident's consent), the
// suggested category, a draft of the report kept on the phone — and, when the network is
// cut, the report sent once when it is back (the same Idempotency-Key: never stored twice),
// and scanning a shift's QR code where the browser can.
(function () {
  "use strict";
  var center = document.body.getAttribute("data-center") || "";

  // -- asking before a cancel --------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // -- a notice after an action shows once: a reload doesn't repeat it --------------------
  if (window.history.replaceState && /[?&]done=/.test(window.location.search)) {
    var left = window.location.search.replace(/([?&])done=[^&]*&?/, "$1").replace(/[?&]$/, "");
    window.history.replaceState(null, "", window.location.pathname + left + window.location.hash);
  }

  // -- the report form ---------------------------------------------------------------------
  var form = document.getElementById("report-form");
  if (form) report(form);

  function report(form) {
    var draftKey = "lx-draft-" + form.getAttribute("data-draft");
    var fields = ["description", "category", "address", "lat", "long", "name", "phone", "idempotency_key"];
    var note = document.getElementById("offline-note");
    var sending = false;

    function value(name) {
      var el = form.elements[name];
      return el ? el.value : "";
    }
    function save(pending) {
      var draft = { pending: !!pending, at: Date.now() };
      fields.forEach(function (name) { draft[name] = value(name); });
      try { localStorage.setItem(draftKey, JSON.stringify(draft)); } catch (e) { /* full or off */ }
      return draft;
    }
    function load() {
      try { return JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (e) { return null; }
    }
    function say(text) {
      if (!note) return;
      note.textContent = text;
      note.hidden = !text;
    }

    // Restore what was typed before (a closed page, a failed send), unless the server
    // answered the form again with what was sent (its key is then the draft's).
    var draft = load();
    if (draft && !value("description") && draft.description) {
      fields.forEach(function (name) {
        if (form.elements[name] && draft[name]) form.elements[name].value = draft[name];
      });
      say(draft.pending ? "网络恢复后，将自动发送您保存的诉求。" : "已恢复您上次未提交的内容。");
    }
    form.addEventListener("input", function () { save(load() && load().pending); });
    form.addEventListener("change", function () { save(load() && load().pending); });

    form.addEventListener("submit", function (event) {
      save(false);
      if (navigator.onLine === false) {
        event.preventDefault();
        save(true);
        say("网络已断开。内容已保存在本机，联网后会自动发送（只发送一次）。");
        if (note && note.scrollIntoView) note.scrollIntoView({ block: "center" });
      }
    });

    function send() {
      var kept = load();
      if (!kept || !kept.pending || sending) return;
      sending = true;
      say("网络已恢复，正在发送……");
      var body = new FormData(form);
      fields.forEach(function (name) { if (kept[name] !== undefined) body.set(name, kept[name]); });
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Idempotency-Key": kept.idempotency_key || "" }
      }).then(function (response) {
        sending = false;
        if (response.redirected) {
          localStorage.removeItem(draftKey);
          window.location.assign(response.url);
          return;
        }
        // The server refused it (a field to fix): show its answer, the draft stays.
        save(false);
        return response.text().then(function (html) {
          document.open();
          document.write(html);
          document.close();
        });
      }).catch(function () {
        sending = false;
        say("网络仍不稳定。内容已保存在本机，联网后会再次发送。");
      });
    }
    window.addEventListener("online", send);
    if (navigator.onLine !== false) send();

    // Photos: a preview of each, and the next field only once the one before is used.
    var inputs = Array.prototype.slice.call(form.querySelectorAll(".photo-input"));
    var previews = document.getElementById("previews");
    function showInputs() {
      var open = true;
      inputs.forEach(function (input) {
        var label = form.querySelector('label[for="' + input.id + '"]');
        var shown = open || (input.files && input.files.length > 0);
        input.hidden = !shown;
        if (label) label.hidden = !shown;
        if (!(input.files && input.files.length)) open = false;
      });
    }
    inputs.forEach(function (input) {
      input.addEventListener("change", function () {
        previews.textContent = "";
        inputs.forEach(function (each, i) {
          if (!each.files || !each.files[0]) return;
          var item = document.createElement("li");
          var img = document.createElement("img");
          img.src = URL.createObjectURL(each.files[0]);
          img.alt = "待上传的照片" + (i + 1);
          img.width = 96;
          img.height = 96;
          item.appendChild(img);
          previews.appendChild(item);
        });
        showInputs();
      });
    });
    showInputs();

    // The location, with the resident's consent (the browser asks).
    var locate = document.getElementById("locate");
    var status = document.getElementById("locate-status");
    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        status.textContent = "正在获取位置……";
        navigator.geolocation.getCurrentPosition(function (pos) {
          form.elements.lat.value = pos.coords.latitude.toFixed(6);
          form.elements.long.value = pos.coords.longitude.toFixed(6);
          status.textContent = "已附上您的位置。";
          save(false);
        }, function () {
          status.textContent = "没有取得位置，请在上面填写地点。";
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }

    // Only the chosen category's extra questions.
    var select = form.elements.category;
    var questions = Array.prototype.slice.call(form.querySelectorAll(".questions"));
    function showQuestions() {
      questions.forEach(function (set) {
        set.hidden = set.getAttribute("data-category") !== select.value;
        var aside = set.querySelector("legend .hint");
        if (aside) aside.hidden = true;
      });
    }
    select.addEventListener("change", showQuestions);
    showQuestions();

    // The category the text most likely is, suggested while typing (never over a choice).
    var hint = document.getElementById("suggest-hint");
    var chosen = !!select.value;
    var timer = null;
    select.addEventListener("change", function () { chosen = !!select.value; });
    form.elements.description.addEventListener("input", function () {
      clearTimeout(timer);
      var text = form.elements.description.value.trim();
      if (chosen || text.length < 4 || navigator.onLine === false) return;
      timer = setTimeout(function () {
        fetch(select.getAttribute("data-suggest"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ description: text, address: form.elements.address.value })
        }).then(function (r) { return r.ok ? r.json() : null; }).then(function (found) {
          var best = found && found.categories && found.categories[0];
          if (!best || chosen || !best.score) return;
          select.value = best.code;
          showQuestions();
          hint.textContent = "根据描述，类别可能是“" + best.name + "”，如不对请重新选择。";
        }).catch(function () { /* no suggestion: the resident chooses */ });
      }, 700);
    });
  }

  // -- the follow page after sending: the draft is done ------------------------------------
  if (document.getElementById("follow-link") || document.querySelector("[data-sent]")) {
    try { localStorage.removeItem("lx-draft-report-" + center); } catch (e) { /* off */ }
  }

  // -- scanning a shift's QR code ----------------------------------------------------------
  var scan = document.getElementById("scan");
  if (scan && "BarcodeDetector" in window && navigator.mediaDevices) {
    scan.hidden = false;
    scan.addEventListener("click", function () {
      var video = document.getElementById("scan-video");
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        video.play();
        function look() {
          detector.detect(video).then(function (codes) {
            if (!codes.length) return window.requestAnimationFrame(look);
            var text = codes[0].rawValue;
            var match = /[?&]code=([^&#]+)/.exec(text);
            document.getElementById("code").value = decodeURIComponent(match ? match[1] : text);
            stream.getTracks().forEach(function (t) { t.stop(); });
            video.hidden = true;
          }).catch(function () { window.requestAnimationFrame(look); });
        }
        look();
      }).catch(function () {
        scan.textContent = "无法打开相机，请输入班次码";
      });
    });
  }
})();
