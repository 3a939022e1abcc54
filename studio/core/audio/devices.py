"""Which sound outputs PortAudio reports, or why there are none (never raises)."""
from __future__ import annotations


def list_output_devices() -> tuple[list[dict], str]:
    """Returns (devices, reason). ``reason`` is empty when the list could be read."""
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library not found
        return [], f"PortAudio is not installed ({exc}); playback is off, export still works"
    except Exception as exc:  # noqa: BLE001
        return [], f"sound system unavailable ({exc})"
    try:
        devices = sd.query_devices()
        pair = sd.default.device  # an (input, output) pair object, not a tuple
        try:
            default_out = pair[1]
        except (TypeError, IndexError):
            default_out = pair
    except Exception as exc:  # noqa: BLE001
        return [], f"could not list sound devices ({exc})"
    out = []
    for idx, d in enumerate(devices):
        if d.get("max_output_channels", 0) > 0:
            out.append({"index": idx, "name": d["name"], "channels": d["max_output_channels"],
                        "default_samplerate": d.get("default_samplerate"), "default": idx == default_out})
    return out, "" if out else "no sound output device found; playback is off, export still works"
