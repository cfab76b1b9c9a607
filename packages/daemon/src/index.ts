export { startDaemon, startDaemonAt, stopDaemon, daemonEnv } from "./local-daemon";
