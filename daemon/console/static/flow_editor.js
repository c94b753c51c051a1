// The IVR flow editor: the flow as node cards, each node's settings as a form; plain JS, no build step.
//
// The page's form stays the source of what is sent: every change here rewrites its `definition`
// field (the JSON the API takes), so saving, publishing and the server's checks are the ones the
// JSON form always had. The server's messages come back by node (#flow-editor-data) and are shown
// in that node's card. Without JavaScript the page is the plain JSON form.
"use strict";
(function () {
  var KINDS = { menu: "メニュー", play: "ガイダンス再生", hours: "営業時間", forward: "転送", voicemail: "留守番電話", hangup: "終了" };
  var HINTS = {
    menu: "質問を流し、押されたキーで次へ進みます。",
    play: "ガイダンスを順に流して次へ進みます。",
    hours: "今が営業時間内かどうかで分かれます（東京時間）。",
    forward: "外部の電話番号に転送します（転送オプション）。",
    voicemail: "ピーという音のあとにメッセージを録音します。",
    hangup: "ここで電話を切ります。"
  };
  var WEEK = [["mon", "月"], ["tue", "火"], ["wed", "水"], ["thu", "木"], ["fri", "金"], ["sat", "土"], ["sun", "日"]];
  var NAME = /^[A-Za-z0-9_-]{1,40}$/;
  var NONE = "";

  var data, flow, order, root, textarea, dirty = false, audio = null, said = "";

  // ---- small DOM helpers ----
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) { return; }
      if (key === "text") { node.textContent = value; }
      else if (key.slice(0, 2) === "on") { node.addEventListener(key.slice(2), value); }
      else if (key === "value") { node.value = value; }
      else if (key === "checked") { node.checked = !!value; }
      else { node.setAttribute(key, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  }
  function labelled(text, control, hint) {
    return el("label", { "class": "field" }, [text, control, hint ? el("small", { text: hint }) : null]);
  }
  function button(text, onclick, cls, aria) {
    return el("button", { type: "button", "class": cls || "secondary", onclick: onclick, "aria-label": aria || null, text: text });
  }

  // ---- the state ----
  function nodes() { return flow.nodes; }
  function changed(rerender) {
    textarea.value = JSON.stringify(serialise(), null, 2);
    dirty = false;
    if (rerender) { render(); } else { renderOutline(); }
  }
  function serialise() {
    var ordered = {};
    order.forEach(function (name) { ordered[name] = flow.nodes[name]; });
    return { entry: flow.entry, nodes: ordered };
  }
  function load(document_) {
    if (!document_ || typeof document_ !== "object" || typeof document_.nodes !== "object" || document_.nodes === null) {
      throw new Error("nodes");
    }
    flow = { entry: document_.entry && typeof document_.entry === "object" ? document_.entry : { default: NONE }, nodes: document_.nodes };
    order = callOrder();
  }
  // The order a call meets the nodes (depth first from the start, then the rest): a stored flow keeps no
  // order of its own (the database sorts the keys), so the cards read like the call instead.
  function callOrder() {
    var seen = {}, found = [];
    function visit(name) {
      var node = flow.nodes[name];
      if (!node || seen[name]) { return; }
      seen[name] = true;
      found.push(name);
      successors(node).forEach(function (s) { visit(target(node, s[1])); });
    }
    visit(flow.entry.default);
    Object.keys(flow.nodes).forEach(visit);
    return found;
  }
  function successors(node) {
    // [label, key] of every place the node goes next
    switch (node.kind) {
      case "play": return [["次へ", "next"]];
      case "menu": return Object.keys(node.options || {}).map(function (k) { return [k + " を押したとき", "option:" + k]; }).concat([["該当なし", "fallback"]]);
      case "hours": return [["営業時間内", "open"], ["営業時間外", "closed"]];
      case "forward": return [["つながらないとき", "on_fail"]];
      case "voicemail": return [["録音の後", "next"]];
      default: return [];
    }
  }
  function target(node, key) {
    if (key.indexOf("option:") === 0) { return (node.options || {})[key.slice(7)]; }
    return node[key];
  }
  function freshName(kind) {
    var base = kind, n = 1, name = base;
    while (flow.nodes[name]) { n += 1; name = base + n; }
    return name;
  }
  function fresh(kind) {
    var fallback = order.length ? order[order.length - 1] : NONE;
    switch (kind) {
      case "play": return { kind: "play", guidance: [firstGuidance()], next: fallback };
      case "menu": return { kind: "menu", prompt: firstGuidance(), options: { "1": fallback }, fallback: fallback, max_retries: 2, first_digit_timeout_ms: 5000, inter_digit_timeout_ms: 2000 };
      case "hours": return { kind: "hours", week: { mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-18:00"] }, public_holidays_closed: true, closed_dates: [], open_dates: {}, open: fallback, closed: fallback };
      case "forward": return { kind: "forward", numbers: [""], strategy: "sequential", ring_timeout_s: 20, shown_number: "dialled", on_fail: fallback };
      case "voicemail": return { kind: "voicemail", beep: true, max_seconds: 60, silence_seconds: 5 };
      default: return { kind: "hangup" };
    }
  }
  function firstGuidance() { return data.guidance.length ? data.guidance[0].id : null; }
  function rename(old, name) {
    if (name === old) { return true; }
    if (!NAME.test(name) || flow.nodes[name]) { return false; }
    var renamed = {};
    order = order.map(function (n) { return n === old ? name : n; });
    order.forEach(function (n) { renamed[n] = n === name ? flow.nodes[old] : flow.nodes[n]; });
    flow.nodes = renamed;
    order.forEach(function (n) { replaceTarget(flow.nodes[n], old, name); });
    Object.keys(flow.entry).forEach(function (key) {
      var value = flow.entry[key];
      if (value === old) { flow.entry[key] = name; }
      else if (value && typeof value === "object") { Object.keys(value).forEach(function (k) { if (value[k] === old) { value[k] = name; } }); }
    });
    if (data.errors[old]) { data.errors[name] = data.errors[old]; delete data.errors[old]; }
    return true;
  }
  function replaceTarget(node, old, name) {
    ["next", "fallback", "open", "closed", "on_fail"].forEach(function (key) { if (node[key] === old) { node[key] = name; } });
    Object.keys(node.options || {}).forEach(function (k) { if (node.options[k] === old) { node.options[k] = name; } });
  }

  // ---- form controls bound to a node's field ----
  function integer(node, key, label, opts) {
    opts = opts || {};
    var scale = opts.scale || 1;
    var shown = node[key] === undefined || node[key] === null ? "" : node[key] / scale;
    var input = el("input", { type: "number", value: String(shown), min: opts.min, max: opts.max, step: opts.step || 1, inputmode: "decimal",
      oninput: function () {
        var value = parseFloat(input.value);
        if (isNaN(value)) { if (opts.optional) { delete node[key]; } else { node[key] = input.value; } }
        else { node[key] = Math.round(value * scale); }
        changed(false);
      } });
    return labelled(label, input, opts.hint);
  }
  function checkbox(node, key, label) {
    var box = el("input", { type: "checkbox", checked: node[key] !== false, onchange: function () { node[key] = box.checked; changed(false); } });
    return el("label", { "class": "check" }, [box, label]);
  }
  function connection(node, key, label, optional) {
    var current = target(node, key);
    var select = el("select", { "data-connect": key, onchange: function () {
      var value = select.value;
      if (key.indexOf("option:") === 0) { node.options[key.slice(7)] = value; }
      else if (optional && value === NONE) { delete node[key]; }
      else { node[key] = value; }
      changed(false);
    } }, [el("option", { value: NONE, text: optional ? "（電話を切る）" : "（選んでください）" })]
      .concat(order.map(function (n) { return el("option", { value: n, text: n + "（" + KINDS[flow.nodes[n].kind] + "）" }); })));
    select.value = current === undefined || current === null ? NONE : current;
    if (current && !flow.nodes[current]) {
      select.appendChild(el("option", { value: current, text: current + "（ありません）" }));
      select.value = current;
    }
    return labelled(label, select);
  }
  function guidanceName(id) {
    var found = data.guidance.filter(function (g) { return g.id === id; })[0];
    return found ? found.name : "ガイダンス " + id;
  }
  function play(id) {
    var found = data.guidance.filter(function (g) { return g.id === id; })[0];
    if (!found) { return; }
    if (audio) { audio.pause(); }
    audio = new Audio(found.audio);
    audio.play().catch(function () { /* the browser may refuse; the page does not need it */ });
  }
  // A guidance picker: pick one of the tenant's guidance, hear it, or type words to have one made.
  function picker(label, value, optional, set) {
    var select = el("select", { "data-guidance": "", onchange: function () { set(select.value === NONE ? null : parseInt(select.value, 10)); changed(false); } },
      [el("option", { value: NONE, text: optional ? "（なし）" : "（選んでください）" })]
        .concat(data.guidance.map(function (g) { return el("option", { value: String(g.id), text: g.name }); })));
    select.value = value === null || value === undefined ? NONE : String(value);
    if (value !== null && value !== undefined && select.value !== String(value)) {
      select.appendChild(el("option", { value: String(value), text: guidanceName(value) + "（ありません）" }));
      select.value = String(value);
    }
    var speech = speechForm(function (made) { set(made.id); changed(true); });
    return el("div", { "class": "guidance-pick" }, [
      labelled(label, select),
      el("div", { "class": "guidance-tools" }, [
        button("▶ 再生", function () { play(parseInt(select.value, 10)); }, "secondary", label + "を再生"),
        button("文章を入力して作成", function () { speech.hidden = !speech.hidden; if (!speech.hidden) { speech.querySelector("input").focus(); } })
      ]),
      speech
    ]);
  }
  function speechForm(done) {
    var name = el("input", { type: "text", maxlength: "100" });
    var text = el("textarea", { rows: "3" });
    var speed = el("select", {}, [el("option", { value: "0.85", text: "ゆっくり" }), el("option", { value: "1.0", text: "ふつう" }), el("option", { value: "1.15", text: "はやめ" })]);
    speed.value = "1.0";
    var said = el("p", { "class": "field-error", role: "alert" });
    var create = button("作成して選ぶ", function () {
      said.textContent = "";
      if (!name.value.trim() || !text.value.trim()) { said.textContent = "名前と読み上げる文章を入力してください"; return; }
      create.disabled = true;
      create.textContent = "作成中…";
      fetch(data.speech_url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').getAttribute("content") },
        body: JSON.stringify({ name: name.value.trim(), text: text.value.trim(), speed: parseFloat(speed.value) })
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        create.disabled = false;
        create.textContent = "作成して選ぶ";
        if (!answer.ok) {
          var errors = answer.body.errors || {};
          said.textContent = Object.keys(errors).map(function (k) { return errors[k]; }).join("／") || "作成できませんでした";
          return;
        }
        data.guidance.push(answer.body);
        notify("ガイダンス「" + answer.body.name + "」を作成しました");
        done(answer.body);
      }).catch(function () {
        create.disabled = false;
        create.textContent = "作成して選ぶ";
        said.textContent = "送信できませんでした";
      });
    }, "");
    return el("div", { "class": "speech-form", hidden: true }, [
      labelled("ガイダンス名", name), labelled("読み上げる文章", text, "音声合成で読み上げ、音量を整えて保存します"), labelled("話す速さ", speed), create, said
    ]);
  }
  function notify(words) {
    said = words;  // kept across the re-render that follows
    var box = document.getElementById("flow-editor-status");
    if (box) { box.textContent = words; }
  }

  // ---- node bodies ----
  function listEditor(items, row, add, addLabel) {
    var wrap = el("div", { "class": "flow-list" });
    items.forEach(function (item, i) { wrap.appendChild(row(item, i)); });
    wrap.appendChild(button(addLabel, function () { add(); changed(true); }));
    return wrap;
  }
  function removeAt(list, i) { list.splice(i, 1); changed(true); }

  function playBody(node) {
    if (!Array.isArray(node.guidance)) { node.guidance = []; }
    return [
      listEditor(node.guidance, function (id, i) {
        return el("div", { "class": "flow-row" }, [
          picker("ガイダンス " + (i + 1), id, false, function (v) { node.guidance[i] = v; }),
          node.guidance.length > 1 ? button("削除", function () { removeAt(node.guidance, i); }, "secondary", "ガイダンス " + (i + 1) + " を削除") : null
        ]);
      }, function () { node.guidance.push(firstGuidance()); }, "ガイダンスを追加"),
      connection(node, "next", "次のノード")
    ];
  }
  function menuBody(node) {
    if (!node.options || typeof node.options !== "object") { node.options = {}; }
    var keys = Object.keys(node.options);
    var rows = keys.map(function (key) {
      var input = el("input", { type: "text", inputmode: "numeric", value: key, size: "3", "aria-label": "キー",
        onchange: function () {
          var value = input.value.trim();
          if (value === key) { return; }
          if (!/^[0-9]{1,6}$/.test(value) || node.options[value] !== undefined) { input.value = key; alert("キーは数字（1〜6桁）で、ほかのキーと重ならないようにしてください"); return; }
          var rebuilt = {};
          Object.keys(node.options).forEach(function (k) { rebuilt[k === key ? value : k] = node.options[k]; });
          node.options = rebuilt;
          changed(true);
        } });
      return el("div", { "class": "flow-row flow-key", "data-key": key }, [
        labelled("キー", input),
        connection(node, "option:" + key, key + " を押したとき"),
        button("削除", function () { delete node.options[key]; changed(true); }, "secondary", "キー " + key + " を削除")
      ]);
    });
    return [
      picker("質問のガイダンス", node.prompt, false, function (v) { node.prompt = v; }),
      el("fieldset", { "class": "flow-keys" }, [el("legend", { text: "キーと行き先" })].concat(rows).concat([
        button("キーを追加", function () {
          var next = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"].filter(function (k) { return node.options[k] === undefined; })[0];
          if (next === undefined) { return; }
          node.options[next] = order[order.length - 1] || NONE;
          changed(true);
        })
      ])),
      connection(node, "fallback", "どのキーでもないとき（やり直しの後）"),
      el("div", { "class": "flow-grid" }, [
        integer(node, "max_retries", "やり直し回数", { min: 0, max: 5 }),
        integer(node, "first_digit_timeout_ms", "キーを待つ秒数", { scale: 1000, min: 1, max: 60 }),
        integer(node, "inter_digit_timeout_ms", "次のキーを待つ秒数", { scale: 1000, min: 0.3, max: 10, step: 0.1 })
      ]),
      picker("間違ったキーのときのガイダンス", node.invalid_prompt, true, function (v) { if (v === null) { delete node.invalid_prompt; } else { node.invalid_prompt = v; } }),
      picker("入力がないときのガイダンス", node.timeout_prompt, true, function (v) { if (v === null) { delete node.timeout_prompt; } else { node.timeout_prompt = v; } })
    ];
  }
  // Time ranges "HH:MM-HH:MM" as pairs of time inputs (an end of 00:00 is midnight: 24:00).
  function rangesEditor(ranges, label) {
    var rows = ranges.map(function (range, i) {
      var parts = String(range).split("-");
      var start = el("input", { type: "time", value: parts[0] || "", "aria-label": label + " 開始" });
      var end = el("input", { type: "time", value: parts[1] === "24:00" ? "00:00" : (parts[1] || ""), "aria-label": label + " 終了" });
      function update() { ranges[i] = start.value + "-" + (end.value === "00:00" ? "24:00" : end.value); changed(false); }
      start.addEventListener("change", update);
      end.addEventListener("change", update);
      return el("span", { "class": "flow-range" }, [start, "〜", end, button("×", function () { removeAt(ranges, i); }, "secondary", label + " の時間帯を削除")]);
    });
    return el("span", { "class": "flow-ranges" }, rows.length ? rows.concat([button("時間帯を追加", function () { ranges.push("13:00-17:00"); changed(true); }, "secondary", label + " に時間帯を追加")])
      : [el("span", { "class": "flow-closed", text: "休み" }), button("営業日にする", function () { ranges.push("09:00-18:00"); changed(true); }, "secondary", label + " を営業日にする")]);
  }
  function hoursBody(node) {
    if (!node.week || typeof node.week !== "object") { node.week = {}; }
    if (!Array.isArray(node.closed_dates)) { node.closed_dates = []; }
    if (!node.open_dates || typeof node.open_dates !== "object") { node.open_dates = {}; }
    var week = el("table", { "class": "flow-week" }, [el("tbody", {}, WEEK.map(function (day) {
      if (!Array.isArray(node.week[day[0]])) { node.week[day[0]] = []; }
      return el("tr", { "data-day": day[0] }, [el("th", { text: day[1] + "曜日" }), el("td", {}, [rangesEditor(node.week[day[0]], day[1] + "曜日")])]);
    }))]);
    var closed = listEditor(node.closed_dates, function (day, i) {
      var input = el("input", { type: "date", value: day, "aria-label": "休業日 " + (i + 1), onchange: function () { node.closed_dates[i] = input.value; changed(false); } });
      return el("div", { "class": "flow-row" }, [input, button("削除", function () { removeAt(node.closed_dates, i); }, "secondary", "休業日 " + (i + 1) + " を削除")]);
    }, function () { node.closed_dates.push(today()); }, "休業日を追加");
    var special = Object.keys(node.open_dates).map(function (day) {
      var input = el("input", { type: "date", value: day, "aria-label": "特別営業日", onchange: function () {
        if (!input.value || node.open_dates[input.value]) { input.value = day; return; }
        var rebuilt = {};
        Object.keys(node.open_dates).forEach(function (d) { rebuilt[d === day ? input.value : d] = node.open_dates[d]; });
        node.open_dates = rebuilt;
        changed(true);
      } });
      return el("div", { "class": "flow-row" }, [input, rangesEditor(node.open_dates[day], day),
        button("削除", function () { delete node.open_dates[day]; changed(true); }, "secondary", "特別営業日 " + day + " を削除")]);
    });
    return [
      el("fieldset", {}, [el("legend", { text: "曜日ごとの営業時間" }), week]),
      checkbox(node, "public_holidays_closed", "祝日は休み（日本の祝日・振替休日）"),
      el("fieldset", {}, [el("legend", { text: "臨時休業日" }), closed]),
      el("fieldset", {}, [el("legend", { text: "特別営業日（祝日・休業日でもこの時間は営業）" })].concat(special).concat([
        button("特別営業日を追加", function () { var d = today(); while (node.open_dates[d]) { d = nextDay(d); } node.open_dates[d] = ["10:00-15:00"]; changed(true); })
      ])),
      connection(node, "open", "営業時間内"),
      connection(node, "closed", "営業時間外")
    ];
  }
  function today() { return new Date().toISOString().slice(0, 10); }
  function nextDay(day) { var d = new Date(day + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1); return d.toISOString().slice(0, 10); }
  function forwardBody(node) {
    if (!Array.isArray(node.numbers)) { node.numbers = []; }
    var shown = node.shown_number === undefined ? "dialled" : node.shown_number;
    var fixed = shown !== "dialled" && shown !== "caller";
    var own = el("input", { type: "tel", value: fixed ? shown : "", "aria-label": "表示する番号", hidden: !fixed,
      oninput: function () { node.shown_number = own.value.replace(/[^0-9]/g, ""); changed(false); } });
    var who = el("select", { onchange: function () {
      own.hidden = who.value !== "fixed";
      node.shown_number = who.value === "fixed" ? own.value.replace(/[^0-9]/g, "") : who.value;
      changed(false);
    } }, [el("option", { value: "dialled", text: "かかってきた番号（この電話番号）" }), el("option", { value: "caller", text: "かけてきた人の番号" }), el("option", { value: "fixed", text: "指定する番号" })]);
    who.value = fixed ? "fixed" : shown;
    var strategy = el("select", { onchange: function () { node.strategy = strategy.value; changed(false); } },
      [el("option", { value: "sequential", text: "上から順に呼び出す" }), el("option", { value: "simultaneous", text: "全員を同時に呼び出す" })]);
    strategy.value = node.strategy || "sequential";
    return [
      data.forwarding ? null : el("p", { "class": "alert", text: "転送オプションが無効です。公開するには転送オプションのお申し込みが必要です。" }),
      el("fieldset", {}, [el("legend", { text: "転送先の電話番号" }), listEditor(node.numbers, function (number, i) {
        var input = el("input", { type: "tel", value: number, "aria-label": "転送先 " + (i + 1), placeholder: "09012345678",
          oninput: function () { node.numbers[i] = input.value.replace(/[^0-9]/g, ""); changed(false); } });
        return el("div", { "class": "flow-row" }, [input, node.numbers.length > 1 ? button("削除", function () { removeAt(node.numbers, i); }, "secondary", "転送先 " + (i + 1) + " を削除") : null]);
      }, function () { node.numbers.push(""); }, "転送先を追加")]),
      el("div", { "class": "flow-grid" }, [
        labelled("呼び出し方", strategy),
        integer(node, "ring_timeout_s", "呼び出す秒数", { min: 5, max: 120 })
      ]),
      el("div", { "class": "flow-row" }, [labelled("転送先に表示する番号", who), own]),
      picker("応答した人に流すガイダンス", node.announcement, true, function (v) { if (v === null) { delete node.announcement; } else { node.announcement = v; } }),
      connection(node, "on_fail", "つながらないとき（話し中・応答なし）")
    ];
  }
  function voicemailBody(node) {
    return [
      picker("録音の前に流すガイダンス", node.prompt, true, function (v) { if (v === null) { delete node.prompt; } else { node.prompt = v; } }),
      checkbox(node, "beep", "録音の前に「ピー」と鳴らす"),
      el("div", { "class": "flow-grid" }, [
        integer(node, "max_seconds", "最長の録音秒数", { min: 5, max: 600 }),
        integer(node, "silence_seconds", "無音で録音を終える秒数", { min: 0, max: 60, hint: "0: 無音では終えない" })
      ]),
      connection(node, "next", "録音の後", true)
    ];
  }
  var BODIES = { play: playBody, menu: menuBody, hours: hoursBody, forward: forwardBody, voicemail: voicemailBody };

  // ---- cards ----
  function problems(name) {
    var found = data.errors[name] || [];
    if (!found.length) { return null; }
    return el("ul", { "class": "node-problems", role: "alert" }, found.map(function (m) { return el("li", { "class": "field-error", "data-node": name, text: m }); }));
  }
  function card(name, index) {
    var node = flow.nodes[name];
    var nameInput = el("input", { type: "text", value: name, pattern: "[A-Za-z0-9_-]{1,40}", "aria-label": "ノード名",
      onchange: function () {
        if (rename(name, nameInput.value.trim())) { changed(true); }
        else { alert("ノード名は半角英数字・-・_ の40文字までで、ほかのノードと重ならないようにしてください"); nameInput.value = name; }
      } });
    var start = flow.entry.default === name;
    var header = el("header", {}, [
      el("span", { "class": "flow-kind", text: KINDS[node.kind] || node.kind }),
      labelled("ノード名", nameInput),
      start ? el("span", { "class": "state state-free", text: "最初" }) : null,
      el("span", { "class": "flow-node-tools" }, [
        button("↑", function () { move(index, -1); }, "secondary", name + " を上へ"),
        button("↓", function () { move(index, 1); }, "secondary", name + " を下へ"),
        button("削除", function () { removeNode(name); }, "danger", name + " を削除")
      ])
    ]);
    var body = BODIES[node.kind] ? BODIES[node.kind](node) : [];  // hang-up: nothing to set
    return el("section", { "class": "flow-node kind-" + node.kind + (data.errors[name] ? " invalid" : ""), id: "card-" + name, "data-node": name, "aria-label": name + "（" + (KINDS[node.kind] || node.kind) + "）" },
      [header, problems(name), el("p", { "class": "flow-hint", text: HINTS[node.kind] || "" })].concat(body));
  }
  function move(index, by) {
    var to = index + by;
    if (to < 0 || to >= order.length) { return; }
    var name = order.splice(index, 1)[0];
    order.splice(to, 0, name);
    changed(true);
  }
  function removeNode(name) {
    var used = order.filter(function (n) { return n !== name && successors(flow.nodes[n]).some(function (s) { return target(flow.nodes[n], s[1]) === name; }); });
    var words = used.length ? "「" + name + "」は " + used.join("、") + " から使われています。削除すると、その行き先は未設定になります。削除しますか？" : "「" + name + "」を削除しますか？";
    if (!window.confirm(words)) { return; }
    delete flow.nodes[name];
    order = order.filter(function (n) { return n !== name; });
    order.forEach(function (n) { replaceTarget(flow.nodes[n], name, NONE); });
    if (flow.entry.default === name) { flow.entry.default = NONE; }
    changed(true);
  }
  function addNode(kind) {
    var name = freshName(kind);
    flow.nodes[name] = fresh(kind);
    order.push(name);
    if (!flow.entry.default) { flow.entry.default = name; }
    changed(true);
    var added = document.getElementById("card-" + name);
    if (added) { added.scrollIntoView({ block: "nearest" }); added.querySelector("input").focus(); }
  }

  // ---- the outline: the flow as a tree from where calls start ----
  function outlineOf(name, seen, via) {
    var node = flow.nodes[name];
    var head = el("a", { href: "#card-" + name, text: (via ? via + " → " : "") + name + (node ? "（" + KINDS[node.kind] + "）" : "（ありません）") });
    if (!node || seen[name]) { return el("li", { "class": seen[name] ? "flow-again" : "flow-missing" }, [head, seen[name] ? " ↩" : null]); }
    seen[name] = true;
    var children = successors(node).map(function (s) {
      var t = target(node, s[1]);
      if (t) { return outlineOf(t, seen, s[0]); }
      if (node.kind === "voicemail") { return el("li", { text: s[0] + " → 電話を切る" }); }  // its next is optional
      return el("li", { "class": "flow-missing", text: s[0] + " → （未設定）" });
    });
    return el("li", {}, [head, children.length ? el("ul", {}, children) : null]);
  }
  function renderOutline() {
    var box = document.getElementById("flow-outline");
    if (!box) { return; }
    box.textContent = "";
    var start = flow.entry.default;
    box.appendChild(start ? el("ul", {}, [outlineOf(start, {}, "着信")]) : el("p", { text: "最初のノードを選んでください。" }));
  }

  function render() {
    root.textContent = "";
    var entry = el("select", { id: "flow-start", onchange: function () { flow.entry.default = entry.value; changed(true); } },
      [el("option", { value: NONE, text: "（選んでください）" })].concat(order.map(function (n) { return el("option", { value: n, text: n + "（" + KINDS[flow.nodes[n].kind] + "）" }); })));
    entry.value = flow.entry.default || NONE;
    var entryErrors = Object.keys(data.errors).filter(function (k) { return k.indexOf("entry") === 0; });
    var others = Object.keys(flow.entry).filter(function (k) { return k !== "default" && flow.entry[k] && Object.keys(flow.entry[k]).length; });
    root.appendChild(el("div", { "class": "flow-top" }, [
      labelled("電話がかかってきたら最初に", entry),
      others.length ? el("small", { text: "着信経路・番号ごとの開始先は JSON で設定されています（そのまま保存されます）。" }) : null,
      entryErrors.length ? problems(entryErrors[0]) : null
    ]));
    root.appendChild(el("div", { "class": "flow-outline", id: "flow-outline", role: "group", "aria-label": "フローの流れ" }));  // not a nav: the page has one
    root.appendChild(el("div", { "class": "flow-add" }, [el("span", { text: "ノードを追加:" })].concat(Object.keys(KINDS).map(function (kind) {
      return button("＋" + KINDS[kind], function () { addNode(kind); }, "secondary");
    }))));
    root.appendChild(el("p", { id: "flow-editor-status", "class": "flow-status", role: "status", text: said }));
    var cards = el("div", { "class": "flow-cards" });
    order.forEach(function (name, i) { cards.appendChild(card(name, i)); });
    root.appendChild(cards);
    renderOutline();
  }

  function start() {
    root = document.getElementById("flow-editor");
    textarea = document.getElementById("flow-definition");
    var holder = document.getElementById("flow-editor-data");
    if (!root || !textarea || !holder) { return; }
    data = JSON.parse(holder.textContent);
    var details = document.getElementById("flow-json");
    var tools = details.querySelector(".flow-json-tools");
    tools.hidden = false;
    try { load(JSON.parse(textarea.value)); }
    catch (e) {
      root.hidden = false;
      root.appendChild(el("p", { "class": "alert", text: "JSONの形式が正しくないため、編集画面に表示できません。下のJSONを直して「読み込む」を押してください。" }));
      wire(details);
      return;
    }
    details.open = false;
    root.hidden = false;
    var list = document.getElementById("flow-node-list");
    if (list) { list.hidden = true; }  // its messages are in the cards now
    render();
    wire(details);
  }
  function wire(details) {
    textarea.addEventListener("input", function () { dirty = true; });
    document.getElementById("flow-import").addEventListener("click", function () {
      try { load(JSON.parse(textarea.value)); }
      catch (e) { alert("JSONの形式が正しくありません"); return; }
      data.errors = {};
      render();
      changed(true);
      notify("JSONを読み込みました（まだ保存していません）");
    });
    document.getElementById("flow-import-file").addEventListener("change", function (event) {
      var file = event.target.files[0];
      if (!file) { return; }
      file.text().then(function (text) { textarea.value = text; document.getElementById("flow-import").click(); });
    });
    document.getElementById("flow-export").addEventListener("click", function () {
      var link = el("a", { href: URL.createObjectURL(new Blob([textarea.value], { type: "application/json" })), download: "ivr-flow.json" });
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
    document.getElementById("flow-form").addEventListener("submit", function () {
      if (flow && !dirty) { textarea.value = JSON.stringify(serialise(), null, 2); }
    });
  }
  document.addEventListener("DOMContentLoaded", start);
})();
