// pm2 process file for the Dojo roles, from a git checkout at /opt/dojo (its virtualenv in .venv).
// Each app runs in its own directory, which is also its data directory (DOJO_HOME) and holds its
// settings as `.env` (Dojo reads .env from the working directory):
//   for role in validator synthetic-api worker-api miner; do
//     mkdir -p /var/lib/dojo/$role && cp deploy/.env.$role.example /var/lib/dojo/$role/.env   # then edit
//   done
//   pm2 start deploy/pm2/ecosystem.config.js --only dojo-validator,dojo-synthetic-api   # the roles of this host
//   pm2 save
// Auto-update: dojo autoupdate apply --repo /opt/dojo --supervisor pm2 --service dojo-validator …
const roles = ["synthetic-api", "validator", "worker-api", "miner"];

module.exports = {
  apps: roles.map((role) => ({
    name: `dojo-${role}`,
    script: "/opt/dojo/.venv/bin/dojo",
    args: role,
    interpreter: "none",
    cwd: `/var/lib/dojo/${role}`,
    env: { DOJO_HOME: `/var/lib/dojo/${role}` },
    autorestart: true,
    restart_delay: 5000,
    kill_timeout: 30000,
  })),
};
