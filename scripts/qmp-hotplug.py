#!/usr/bin/env python3
"""Host side of the PCIe hot-unplug selftest (revoke_devices: pcie_hot_unplug).

qmp-hotplug.py QMP_SOCKET REQUEST_DIR DEVICE_ID DRIVER BUS [TIMEOUT]

The guest asks for a hot-unplug or a hot-plug by writing REQUEST_DIR/hotplug-req (on the
writable results share) with the line "SEQ del" or "SEQ add"; this script performs
device_del (and waits for QEMU's DEVICE_DELETED event, i.e. until the guest's pciehp powered
the slot off) or device_add DRIVER on BUS with id DEVICE_ID, then answers in
REQUEST_DIR/hotplug-ack with "SEQ ok" or "SEQ error: ...". Every wait is bounded (TIMEOUT s,
default 90 per request). The script ends when QEMU closes the QMP socket.

Other devices: "SEQ del ID" deletes device ID (waiting for DEVICE_DELETED: for a PCIe device
until pciehp powered the slot off, for a virtserialport at once), "SEQ add ID DRIVER BUS
[PROP=VALUE...]" adds one (revoke_virtio: the virtio-serial-pci controller vser0 and its
virtserialports vp0, vp1; revoke_usb: "SEQ add wac2 usb-wacom-tablet xhci0.0 port=2", a USB
device on port 2 of the qemu-xhci, whose DEVICE_DELETED comes at once: the guest sees the port's
disconnect afterwards). "SEQ rel DX DY" sends a relative pointer motion (QMP input-send-event) to
the active mouse: a USB tablet that has reported once (revoke_usb: the wacom's next IN report).
"SEQ key QCODE [down|up]" presses and releases (or only presses, or releases) key QCODE (a QEMU
qcode: "a", "shift") on the active keyboard, the last USB keyboard plugged (revoke_hidraw,
revoke_hiddev: one input report of the usb-kbd per press or release).
"SEQ chr CHARDEV [HEX]" writes the bytes HEX (or nothing) into the socket chardev CHARDEV (a
server QEMU listens on: this script connects once and stays connected), i.e. the input of the
device that uses it (revoke_usb_bulk: the usb-serial's bulk IN data; usb-braille is attached
only while its chardev is connected); what the device writes there is read and dropped. Boolean device properties are given as on/off.
"""
import json
import os
import select
import socket
import sys
import time


class Qmp:
    def __init__(self, path, connect_timeout=30):
        end = time.time() + connect_timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > end:
                    raise
                time.sleep(0.2)
        self.buf = b""
        self.events = []
        self.chr = {}  # chardev id -> connected socket
        self.recv(10)  # greeting
        self.cmd("qmp_capabilities")

    def recv(self, timeout):
        """One JSON message, or None on timeout. Raises EOFError when QEMU is gone."""
        end = time.time() + timeout
        while b"\n" not in self.buf:
            left = max(end - time.time(), 0)
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                if left <= 0:
                    return None
                continue
            data = self.s.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, execute, timeout=30, **args):
        msg = {"execute": execute}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        end = time.time() + timeout
        while time.time() < end:
            m = self.recv(end - time.time())
            if m is None:
                break
            if "event" in m:
                self.events.append(m)
                continue
            return m
        raise TimeoutError(f"no reply to {execute}")

    def wait_event(self, name, device, timeout):
        end = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name and e.get("data", {}).get("device") == device:
                    del self.events[i]
                    return True
            left = end - time.time()
            if left <= 0:
                return False
            m = self.recv(min(left, 1))
            if m is not None and "event" in m:
                self.events.append(m)

    def chr_write(self, label, data):
        """Write data to the socket chardev label, connecting to it the first time."""
        if label not in self.chr:
            r = self.cmd("query-chardev")
            # "disconnected:unix:PATH,server=on" until a client connects
            path = [c["filename"] for c in r.get("return", []) if c["label"] == label]
            if not path or "unix:" not in path[0]:
                raise ValueError(f"no socket chardev {label}: {path}")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path[0].split("unix:", 1)[1].split(",")[0])
            s.setblocking(False)
            self.chr[label] = s
        self.chr[label].sendall(data)

    def chr_drain(self):
        for s in self.chr.values():
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                pass

    def poll_events(self):
        self.chr_drain()
        m = self.recv(0)
        while m is not None:
            if "event" in m:
                if m["event"] == "WATCHDOG":  # revoke_watchdog: the i6300esb fired
                    log(f"event WATCHDOG {m.get('data')} at {m.get('timestamp')}")
                else:
                    self.events.append(m)
            m = self.recv(0)


# device properties that QEMU types as strings even when their value is a number
STRING_PROPS = {"port"}


def log(msg):
    print(f"qmp-hotplug: {msg}", flush=True)


def main():
    sock, rdir, dev_id, driver, bus = sys.argv[1:6]
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 90
    req, ack = os.path.join(rdir, "hotplug-req"), os.path.join(rdir, "hotplug-ack")
    q = Qmp(sock)
    log(f"connected to {sock}; serving requests in {req}")
    done = None
    while True:
        try:
            q.poll_events()
        except EOFError:
            log("QEMU closed the monitor, done")
            return 0
        try:
            with open(req) as f:
                line = f.read().split()
        except OSError:
            line = []
        if len(line) < 2 or line[0] == done:
            time.sleep(0.1)
            continue
        seq, op = line[:2]
        t0 = time.time()
        try:
            if op == "del":
                did = line[2] if len(line) > 2 else dev_id
                r = q.cmd("device_del", id=did)
                if "error" in r:
                    raise RuntimeError(r["error"].get("desc"))
                if not q.wait_event("DEVICE_DELETED", did, timeout):
                    raise TimeoutError(f"no DEVICE_DELETED for {did} in {timeout} s")
            elif op == "add":
                args = {"driver": driver, "bus": bus, "id": dev_id}
                if len(line) > 2:
                    if len(line) < 5:
                        raise ValueError(f"add needs ID DRIVER BUS: {line[2:]}")
                    args = {"id": line[2], "driver": line[3], "bus": line[4]}
                    for kv in line[5:]:  # QMP wants integers typed as such
                        k, v = kv.split("=", 1)
                        if k not in STRING_PROPS and v in ("on", "off"):
                            v = v == "on"
                        elif v.isdigit() and k not in STRING_PROPS:
                            v = int(v)
                        args[k] = v
                r = q.cmd("device_add", **args)
                # the backend of a device just deleted is let go a little later
                for _ in range(50):
                    if "error" not in r or not any(w in r["error"].get("desc", "")
                                                   for w in ("in use", "conflict")):
                        break
                    time.sleep(0.1)
                    r = q.cmd("device_add", **args)
                if "error" in r:
                    raise RuntimeError(r["error"].get("desc"))
            elif op == "rel":
                if len(line) != 4:
                    raise ValueError(f"rel needs DX DY: {line[2:]}")
                ev = [{"type": "rel", "data": {"axis": a, "value": int(v)}}
                      for a, v in (("x", line[2]), ("y", line[3]))]
                r = q.cmd("input-send-event", events=ev)
                if "error" in r:
                    raise RuntimeError(r["error"].get("desc"))
            elif op == "key":
                if len(line) not in (3, 4) or line[3:] not in ([], ["down"], ["up"]):
                    raise ValueError(f"key needs QCODE [down|up]: {line[2:]}")
                downs = {"down": [True], "up": [False]}.get(line[3] if len(line) > 3 else "",
                                                           [True, False])
                ev = [{"type": "key", "data": {"down": d, "key": {"type": "qcode", "data": line[2]}}}
                      for d in downs]
                r = q.cmd("input-send-event", events=ev)
                if "error" in r:
                    raise RuntimeError(r["error"].get("desc"))
            elif op == "chr":
                if len(line) not in (3, 4):
                    raise ValueError(f"chr needs CHARDEV [HEX]: {line[2:]}")
                q.chr_write(line[2], bytes.fromhex(line[3] if len(line) == 4 else ""))
            else:
                raise ValueError(f"unknown request {op}")
            res = "ok"
        except EOFError:
            log("QEMU closed the monitor during a request")
            return 1
        except Exception as e:  # reported to the guest, which fails the test
            res = f"error: {e}"
        log(f"request {seq} {' '.join(line[1:])}: {res} ({time.time() - t0:.1f} s)")
        # Every answer has the same size (127 characters and a newline): the guest polls the
        # file over 9p, and a new file that is shorter than the size the guest still has for
        # the path was seen to make 6.12's netfs retry an unbuffered read() recursively until
        # the kernel stack overflowed (KASAN reports in the unwinder, notes/issue-16-usbfs.md).
        tmp = ack + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seq} {res}"[:127].ljust(127) + "\n")
        os.rename(tmp, ack)
        done = seq


if __name__ == "__main__":
    sys.exit(main())
