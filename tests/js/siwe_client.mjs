// Signs in to a Dojo worker API the way a dApp does with the npm `siwe` package and ethers:
// `new SiweMessage({domain: location.host, uri: location.origin, ...})`, signed with a fixed test key.
//
//   node siwe_client.mjs login ORIGIN          fetch a nonce, sign, POST /worker/login; prints the reply
//   node siwe_client.mjs sign ORIGIN NONCE     only build and sign the message for ORIGIN; prints it
//
// Output: one JSON line. The key is Hardhat's well-known account #0: never holds anything.
import { SiweMessage } from "siwe";
import { Wallet } from "ethers";

const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const wallet = new Wallet(KEY);

function signed(origin, nonce, chainId) {
  const location = new URL(origin); // what `window.location` would be on that page
  const message = new SiweMessage({
    domain: location.host,
    address: wallet.address,
    statement: "Sign in to Dojo",
    uri: location.origin,
    version: "1",
    chainId,
    nonce,
  }).prepareMessage();
  return wallet.signMessage(message).then((signature) => ({ message, signature, address: wallet.address }));
}

async function login(origin) {
  const api = `${origin}/api/v1`;
  const n = await (await fetch(`${api}/auth/nonce?address=${wallet.address}`)).json();
  if (!n.success) return { step: "nonce", reply: n };
  const { message, signature } = await signed(origin, n.body.nonce, n.body.chain_id || 1);
  const resp = await fetch(`${api}/worker/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, signature }),
  });
  return { step: "login", status: resp.status, reply: await resp.json(), message };
}

const [mode, origin, nonce] = process.argv.slice(2);
const out = mode === "login" ? await login(origin) : mode === "sign" ? await signed(origin, nonce, 1) : null;
if (out === null) {
  console.error("usage: node siwe_client.mjs login ORIGIN | sign ORIGIN NONCE");
  process.exit(2);
}
console.log(JSON.stringify(out));
