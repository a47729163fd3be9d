// Live updates of every page: one websocket to /ws/client/<id>/, events
// applied in place. Each event is also re-dispatched on `document` as
// "spotopt:<type>" so that page scripts can react to it.
(function () {
  "use strict";
  var clientId = document.body.dataset.clientId;
  if (!clientId) { return; }
  var stateLabel = document.getElementById("live-state");
  var retryMs = 1000;

  function setLive(online) {
    stateLabel.textContent = online ? "live" : "offline";
    stateLabel.classList.toggle("online", online);
  }

  // The same form as the `usd` template filter: four decimals below $1.
  function usd(amount) {
    var value = Number(amount) || 0;
    var digits = value !== 0 && Math.abs(value) < 1 ? 4 : 2;
    var text = Math.abs(value).toLocaleString("en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits
    });
    return (value < 0 ? "-$" : "$") + text;
  }

  function toast(text) {
    var box = document.getElementById("toasts");
    var item = document.createElement("div");
    item.className = "toast";
    item.textContent = text;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }

  function activity(text) {
    var list = document.getElementById("activity");
    if (!list) { return; }
    var item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + " " + text;
    list.prepend(item);
    while (list.children.length > 30) { list.lastChild.remove(); }
  }

  function setStatus(el, value) {
    el.className = el.className.replace(/status-\S+/, "status-" + value);
    el.textContent = value;
  }

  function bumpCount(name, delta) {
    var el = document.querySelector('[data-count="agents-' + name + '"]');
    if (el) { el.textContent = Math.max(0, parseInt(el.textContent, 10) + delta); }
  }

  function onAgentStatus(p) {
    var elements = document.querySelectorAll('[data-agent-status="' + p.agent_id + '"]');
    if (elements.length && elements[0].dataset.status !== p.status) {
      bumpCount(elements[0].dataset.status, -1);
      bumpCount(p.status, +1);
    }
    elements.forEach(function (el) {
      el.dataset.status = p.status;
      setStatus(el, p.status);
    });
    activity("Agent " + p.logical_agent_id + " is " + p.status);
  }

  function onInstanceState(p) {
    document.querySelectorAll('[data-instance-state="' + p.instance + '"]')
      .forEach(function (el) { setStatus(el, p.state); });
    activity("Instance " + (p.instance_id || p.instance) + ": " +
             p.previous + " → " + p.state);
  }

  function onSwitch(type, p) {
    var done = type === "switch.completed";
    var text = done
      ? "Switch to " + p.to_pool_id + " completed, downtime " + p.downtime_ms + " ms"
      : "Switch failed: " + p.reason;
    document.querySelectorAll('.switch-status[data-agent="' + p.agent_id + '"]')
      .forEach(function (el) { el.textContent = text; });
    activity(text);
    toast(text);
  }

  function onTermination(p) {
    var list = document.getElementById("emergencies");
    if (list) {
      var empty = list.querySelector("[data-empty]");
      if (empty) { empty.remove(); }
      var item = list.querySelector('[data-emergency="' + p.event_id + '"]');
      if (!item) {
        item = document.createElement("li");
        item.dataset.emergency = p.event_id;
        list.prepend(item);
      }
      item.innerHTML = "";
      var strong = document.createElement("strong");
      strong.textContent = "Termination notice";
      var clock = document.createElement("span");
      clock.className = "countdown";
      clock.dataset.deadline = p.deadline;
      item.append(strong, " for agent " + p.agent_id + " · ", clock,
                  " · " + (p.action || "pending"));
    }
    tick();
    toast("Termination notice: failover " + (p.action || "started"));
  }

  function onResolved(p) {
    var item = document.querySelector('[data-emergency="' + p.event_id + '"]');
    if (item) {
      item.querySelectorAll(".countdown").forEach(function (el) {
        el.removeAttribute("data-deadline");
        el.textContent = "resolved, downtime " + p.downtime_ms + " ms";
      });
    }
    activity("Emergency resolved for agent " + p.agent_id);
  }

  function onNotification(p) {
    var badge = document.getElementById("unread-count");
    if (badge) {
      var count = parseInt(badge.textContent, 10) + 1;
      badge.textContent = count;
      badge.setAttribute("aria-label", count + " unread");
    }
    var list = document.getElementById("notification-list");
    if (list) {
      var item = document.createElement("li");
      item.className = "notification unread severity-" + p.severity;
      var title = document.createElement("strong");
      title.textContent = p.title;
      var body = document.createElement("p");
      body.textContent = p.body;
      item.append(title, body);
      list.prepend(item);
    }
    toast(p.title);
  }

  var handlers = {
    "agent.status": onAgentStatus,
    "instance.state": onInstanceState,
    "switch.completed": function (p) { onSwitch("switch.completed", p); },
    "switch.failed": function (p) { onSwitch("switch.failed", p); },
    "emergency.termination": onTermination,
    "emergency.resolved": onResolved,
    "notification.created": onNotification,
    "savings.updated": function (p) {
      var figure = document.getElementById("month-savings");
      if (figure) { figure.textContent = usd(p.month.savings); }
    },
    "command.queued": function (p) {
      activity("Queued " + p.command_type + " for agent " + p.agent_id);
    },
    "command.progress": function (p) {
      activity(p.command_type + " " + p.status);
    }
  };

  // Countdowns to a deadline, ticking once a second.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.dataset.deadline) - now) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = String(left % 60).padStart(2, "0");
      el.textContent = minutes + ":" + seconds + " left";
      el.setAttribute("aria-label", left + " seconds left");
    });
  }
  setInterval(tick, 1000);
  tick();

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/client/" + clientId + "/");
    socket.onopen = function () { retryMs = 1000; };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "hello") { setLive(true); }
      var handler = handlers[data.type];
      if (handler) { handler(data.payload); }
      document.dispatchEvent(new CustomEvent("spotopt:" + data.type,
                                             { detail: data.payload }));
    };
    socket.onclose = function () {
      setLive(false);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }
  connect();
})();
