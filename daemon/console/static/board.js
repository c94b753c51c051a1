// The live board: redraw lines, waiting lines, calls and counsellors from each snapshot of /console/board/events.
(function () {
  "use strict";
  var status = document.getElementById("board-status");
  var callsBody = document.getElementById("calls-body");
  var counsellorsBody = document.getElementById("counsellors-body");
  var queuesBody = document.getElementById("queues-body");  // only when a group has a waiting line
  if (!status || !window.EventSource) { return; }

  function cell(label, text, cls) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (cls) { td.className = cls; }
    td.textContent = text;
    return td;
  }

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds)), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    if (h) { return h + "時間" + m + "分" + r + "秒"; }
    return m ? m + "分" + r + "秒" : r + "秒";
  }

  function tick() {  // talk time and time left, counted on this browser's clock
    var now = Date.now() * 1000;
    document.querySelectorAll("[data-since-us]").forEach(function (td) {
      var us = Number(td.getAttribute("data-since-us"));
      if (us) { td.textContent = duration((now - us) / 1e6); }
    });
    document.querySelectorAll("[data-until-us]").forEach(function (td) {
      var us = Number(td.getAttribute("data-until-us"));
      if (us) { td.textContent = duration((us - now) / 1e6); }
    });
  }

  function empty(id, colspan, text) {
    var tr = document.createElement("tr");
    tr.id = id;
    var td = document.createElement("td");
    td.colSpan = colspan;
    td.textContent = text;
    tr.appendChild(td);
    return tr;
  }

  function drawCalls(calls) {
    var rows = calls.map(function (c) {
      var tr = document.createElement("tr");
      tr.id = "call-" + c.id;
      tr.setAttribute("data-call", c.id);
      tr.setAttribute("data-state", c.state);
      tr.appendChild(cell("状態", c.state_label));
      tr.appendChild(cell("発信者", c.caller));
      tr.appendChild(cell("グループ", c.group));
      tr.appendChild(cell("相談員", c.counsellor));
      var talk = cell("通話時間", "—", "num");
      talk.setAttribute("data-since-us", c.answer_us || "");
      tr.appendChild(talk);
      tr.appendChild(cell("残高", c.balance, "num"));
      tr.appendChild(cell("終了予定", c.deadline));
      var left = cell("残り時間", "—", "num");
      left.setAttribute("data-until-us", c.deadline_us || "");
      tr.appendChild(left);
      return tr;
    });
    if (!rows.length) { rows.push(empty("calls-empty", 8, "通話中の呼はありません")); }
    callsBody.replaceChildren.apply(callsBody, rows);
  }

  function drawQueues(queues) {
    if (!queuesBody) { return; }
    queuesBody.replaceChildren.apply(queuesBody, queues.map(function (q) {
      var tr = document.createElement("tr");
      tr.id = "queue-" + q.id;
      tr.setAttribute("data-queue", q.id);
      tr.setAttribute("data-waiting", q.waiting);
      tr.setAttribute("data-ringing", q.ringing);
      tr.appendChild(cell("グループ", q.group));
      tr.appendChild(cell("待ち人数", q.waiting + "人", "num"));
      var since = cell("最長の待ち時間", "—", "num");
      since.setAttribute("data-since-us", q.since_us || "");
      tr.appendChild(since);
      tr.appendChild(cell("呼び出し中", q.ringing + "人", "num"));  // handed a member whose phone rings now
      return tr;
    }));
  }

  function drawCounsellors(counsellors) {
    var rows = counsellors.map(function (c) {
      var tr = document.createElement("tr");
      tr.id = "counsellor-" + c.id;
      tr.setAttribute("data-counsellor", c.id);
      tr.appendChild(cell("相談員", c.name));
      var td = cell("状態", "");
      td.id = "counsellor-" + c.id + "-state";
      td.setAttribute("data-state", c.state);
      var badge = document.createElement("span");
      badge.className = "state state-" + c.state;
      badge.textContent = c.state_label;
      td.appendChild(badge);
      tr.appendChild(td);
      return tr;
    });
    if (!rows.length) { rows.push(empty("counsellors-empty", 2, "相談員が登録されていません")); }
    counsellorsBody.replaceChildren.apply(counsellorsBody, rows);
  }

  var source = new EventSource("/console/board/events");
  source.addEventListener("snapshot", function (e) {
    var board = JSON.parse(e.data);
    document.getElementById("lines-contracted").textContent = board.lines.contracted;
    document.getElementById("lines-in-use").textContent = board.lines.in_use;
    drawQueues(board.queues);
    drawCalls(board.calls);
    drawCounsellors(board.counsellors);
    tick();
  });
  source.addEventListener("open", function () {
    status.textContent = "自動更新中";
    status.setAttribute("data-live", "on");
  });
  source.addEventListener("error", function () {
    var closed = source.readyState === EventSource.CLOSED;
    status.textContent = closed ? "接続が切れました。ページを再読み込みしてください（ログインが必要な場合があります）"
                                : "再接続しています…";
    status.setAttribute("data-live", "off");
  });
  tick();
  setInterval(tick, 1000);
})();
