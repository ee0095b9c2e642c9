#!/bin/sh
# UFW rules for the VDS (run once as root; safe to run again). Incoming: SSH (rate-limited by
# UFW), HTTP for the redirect and ACME, HTTPS for the site, 8443 for the inference node's WSS.
# The reverse tunnel's port 2222 listens on 127.0.0.1 only and is not opened. fail2ban adds its
# bans in front of these (banaction = ufw in config/fail2ban/jail.d/mehhost.conf).
set -eu
ufw default deny incoming
ufw default allow outgoing
ufw limit 22/tcp comment 'ssh (also the reverse tunnel login)'
ufw allow 80/tcp comment 'http: redirect and ACME'
ufw allow 443/tcp comment 'https: mehhost chat'
ufw allow 8443/tcp comment 'wss: pc_node link'
ufw deny 2222/tcp comment 'tunnel end: local only'
ufw --force enable
ufw status verbose
