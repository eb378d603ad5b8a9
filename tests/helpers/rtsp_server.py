#!/usr/bin/python3
"""Loopback RTSP test server (GStreamer gst-rtsp-server through python3-gi).

Mounts:
  /pattern  live test pattern (H.264) + 440 Hz sine (AAC, 48 kHz mono), real time
  /file     the MP4 given with --file (H.264 + AAC), re-payloaded without re-encoding,
            played in real time from t = 0 for each client; the stream ends with the file

Prints "listening <port>" on stdout once bound (use --port 0 for a free port), then serves
until SIGINT or SIGTERM. Run it with /usr/bin/python3 (the Debian interpreter owns gi).
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PATTERN = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 "
    "audiotestsrc is-live=true wave=sine freq=440 volume=0.5 ! audio/x-raw,rate=48000,channels=1 "
    "! avenc_aac ! rtpmp4gpay name=pay1 pt=97 )"
)


def file_launch(path):
    return (
        f'( filesrc location="{path}" ! qtdemux name=d '
        "d.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 "
        "d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--file", help="MP4 (H.264 + AAC) served at /file")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    launches = {"/pattern": PATTERN}
    if args.file:
        launches["/file"] = file_launch(args.file)
    for mount, launch in launches.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(False)
        mounts.add_factory(mount, factory)

    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"listening {server.get_bound_port()}", flush=True)

    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
