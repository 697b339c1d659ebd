# Shell helpers shared by the hack/ scripts; source it.

# alive PIDFILE NAME: the pid in PIDFILE is running and is NAME, so that a pid
# file left from before a reboot never stops or stands for another process
# that reuses its number.
alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) && kill -0 "$pid" 2>/dev/null &&
    { [ ! -r "/proc/$pid/cmdline" ] || tr '\0' '\n' <"/proc/$pid/cmdline" | head -1 | grep -q -- "$2\$"; }
}
