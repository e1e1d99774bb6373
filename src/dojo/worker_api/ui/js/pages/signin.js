// Sign in: connect a wallet and sign the server's SIWE message.
import { h, mount, banner } from "../dom.js";
import { getSession } from "../session.js";
import { provider, signIn } from "../wallet.js";
import { go } from "../main.js";

function safeNext(next) {
  return next && /^#\/(tasks|task|keys|work)\b/.test(next) ? next : "#/tasks";
}

export function render(main, _arg, params) {
  const next = safeNext(params.get("next"));
  if (getSession()) { go(next, { replace: true }); return null; }
  const status = h("p", { id: "signin-status", class: "muted", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "primary big", id: "connect" }, "Connect wallet and sign in");
  const hasWallet = !!provider();
  button.addEventListener("click", async () => {
    button.disabled = true;
    banner(null);
    try {
      await signIn((step) => { status.textContent = step; });
      status.textContent = "Signed in.";
      window.dispatchEvent(new CustomEvent("dojo:signed-in"));
      go(next);
    } catch (e) {
      status.textContent = "";
      banner(e.message || String(e));
      button.disabled = false;
      button.focus();
    }
  });
  mount(main,
    h("section", { class: "card narrow", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, "Sign in to label tasks"),
      h("p", {}, "Dojo pays for careful human judgement of AI answers. You sign in with an Ethereum wallet — no password, ",
        "no email. Your wallet will ask you to sign a short message; this costs nothing and sends no transaction."),
      hasWallet ? null : h("p", { class: "warn", role: "note" },
        "No wallet was found in this browser. Install a wallet extension such as MetaMask or Rabby, then reload."),
      button, status));
  if (params.get("expired")) {
    banner("Your session has expired or was ended. Sign in again — what you entered is kept.");
  }
  button.focus();
  return null;
}
