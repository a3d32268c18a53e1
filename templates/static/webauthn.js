// Passkeys and security keys on Gatehouse's pages, through the browser's
// credentials API (WebAuthn). A file rather than inline code, so the
// Content-Security-Policy can keep script-src 'self'.
//
// A button with data-webauthn="get" (sign-in) or "create" (registration)
// takes its options JSON from data-options, or POSTs the form's csrf_token
// to data-options-url for it. The options are the server's
// {"publicKey": {...}} with binary fields in base64url; the answer is the
// PublicKeyCredential as JSON, base64url again, put in the form's hidden
// "webauthn" input before the form is submitted. Without this script, or
// without WebAuthn in the browser, the buttons stay hidden and the pages
// work with codes alone.
(function () {
  "use strict";

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeDescriptors(list) {
    (list || []).forEach(function (c) {
      c.id = fromB64url(c.id);
    });
  }

  // creationOptions and requestOptions turn the server's JSON into what
  // navigator.credentials takes: ArrayBuffers where the spec wants bytes.
  function creationOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    decodeDescriptors(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    decodeDescriptors(pk.allowCredentials);
    return pk;
  }

  // credentialJSON is PublicKeyCredential.toJSON(), written out for
  // browsers that lack it.
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: { clientDataJSON: toB64url(r.clientDataJSON) },
      clientExtensionResults: {}
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (typeof cred.getClientExtensionResults === "function") {
      var ext = cred.getClientExtensionResults();
      // Only the plain JSON results (credProps); binary ones are not asked for.
      if (ext && ext.credProps) {
        out.clientExtensionResults.credProps = ext.credProps;
      }
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (typeof r.getTransports === "function") {
        out.response.transports = r.getTransports();
      }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  function fetchOptions(btn, form) {
    if (btn.dataset.options) {
      return Promise.resolve(JSON.parse(btn.dataset.options));
    }
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    return fetch(btn.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (res) {
      if (!res.ok) {
        throw new Error("The server could not start (" + res.status + "). Reload the page and try again.");
      }
      return res.json();
    });
  }

  function say(btn, text) {
    var el = document.getElementById(btn.dataset.status);
    if (el) {
      el.textContent = text;
    }
  }

  function run(btn) {
    var form = btn.form;
    var create = btn.dataset.webauthn === "create";
    btn.disabled = true;
    say(btn, create ? "Follow your browser's prompt to create the passkey." : "Follow your browser's prompt to use your passkey or key.");
    fetchOptions(btn, form)
      .then(function (opts) {
        if (create) {
          return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
        }
        return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
      })
      .then(function (cred) {
        if (!cred) {
          throw new Error("No passkey was chosen.");
        }
        form.elements.webauthn.value = credentialJSON(cred);
        form.submit();
      })
      .catch(function (err) {
        btn.disabled = false;
        var text = err && err.name === "NotAllowedError"
          ? "Cancelled, or no matching passkey on this device."
          : (err && err.message) || "That did not work.";
        say(btn, text + (create ? "" : " You can enter a code instead."));
      });
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  var buttons = document.querySelectorAll("button[data-webauthn]");
  for (var i = 0; i < buttons.length; i++) {
    (function (btn) {
      var box = document.getElementById("webauthn-box");
      if (box) {
        box.hidden = false;
      }
      btn.addEventListener("click", function (ev) {
        ev.preventDefault();
        run(btn);
      });
    })(buttons[i]);
  }
})();
