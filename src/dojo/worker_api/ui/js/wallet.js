// Sign-In with Ethereum (EIP-4361) through an EIP-1193 wallet (window.ethereum: MetaMask, Rabby, …).
import { api } from "./api.js";
import { saveSession } from "./session.js";

export class WalletError extends Error {}

/** The injected wallet, or null when the browser has none. */
export function provider() {
  return typeof window.ethereum === "object" && window.ethereum && typeof window.ethereum.request === "function"
    ? window.ethereum : null;
}

function utf8Hex(text) {
  return "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The EIP-4361 text the wallet signs. */
export function siweMessage({ domain, address, uri, chainId, nonce, issuedAt, expirationTime }) {
  return [
    `${domain} wants you to sign in with your Ethereum account:`,
    address,
    "",
    "Sign in to Dojo to label tasks.",
    "",
    `URI: ${uri}`,
    "Version: 1",
    `Chain ID: ${chainId}`,
    `Nonce: ${nonce}`,
    `Issued At: ${issuedAt}`,
    `Expiration Time: ${expirationTime}`,
  ].join("\n");
}

function walletWords(err) {
  const code = err && err.code;
  if (code === 4001) return "You declined the request in your wallet. Nothing was signed.";
  if (code === -32002) return "Your wallet already has a request waiting: open it and answer that first.";
  return `Your wallet refused: ${(err && err.message) || err}`;
}

/** Connect, fetch a nonce, sign the SIWE message, exchange it for a session. Returns the address. */
export async function signIn(onStep = () => {}) {
  const eth = provider();
  if (!eth) throw new WalletError("No Ethereum wallet found in this browser. Install MetaMask or Rabby, then reload this page.");
  onStep("Asking your wallet for an account…");
  let accounts;
  try { accounts = await eth.request({ method: "eth_requestAccounts" }); } catch (e) { throw new WalletError(walletWords(e)); }
  if (!accounts || !accounts.length) throw new WalletError("Your wallet shared no account. Unlock it and try again.");
  onStep("Getting a sign-in code from the server…");
  const n = await api("GET", `/auth/nonce?address=${encodeURIComponent(accounts[0])}`, { auth: false });
  const now = new Date();
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
  const message = siweMessage({
    domain: n.domain || location.host, address: n.address || accounts[0], uri: location.origin,
    chainId: n.chain_id || 1, nonce: n.nonce, issuedAt: iso(now),
    expirationTime: iso(new Date(now.getTime() + 5 * 60 * 1000)),
  });
  onStep("Please sign the message in your wallet…");
  let signature;
  try {
    signature = await eth.request({ method: "personal_sign", params: [utf8Hex(message), accounts[0]] });
  } catch (e) { throw new WalletError(walletWords(e)); }
  onStep("Checking the signature…");
  const tok = await api("POST", "/worker/login", { body: { message, signature }, auth: false });
  const address = n.address || accounts[0];
  saveSession(tok.token, tok.expires_at, address);
  return address;
}
