# Sourced by tests/guest/wayland-suite.sh (uses result, start_weston,
# stop_weston, make_refs, wait_log, $B, $OUT, $SRC). Firefox ESR under weston:
#  1. the real /usr/lib/firefox-esr/vaapitest, run on our driver, reports
#     VA-API supported with H.264 (CODEC_HW_DEC_H264 = 1 << 4);
#  2. firefox-esr --kiosk plays a local H.264 mp4 in a <video>; judged by
#     what Firefox did, not by its log wording: the driver's per-picture
#     lines (HANTRO_LOG=$DECODED_LOG, on the stderr Firefox's processes
#     share) show that exactly one process decoded through the driver and
#     that it is the RDD process (/proc/<pid>/comm "RDD Process"); the frame
#     on screen is identified among the decoded frames (vaGetImage) and the
#     RDD process must have decoded at least that many pictures (frame k on
#     screen: >= k + 1); nothing crashed. Firefox's MOZ_LOG lines are only
#     reported.
# Firefox decides to run vaapitest only if glxtest reports accelerated GL and
# a DRM render node; glxtest-wrap.sh adapts glxtest's llvmpipe answer.
firefox_run() {
  s=${FIREFOX_STREAM:-cavlc_baseline}
  FW=${FIREFOX_W:-640} FH=${FIREFOX_H:-480}
  ff=/usr/lib/firefox-esr
  make_refs "$s" || { result firefox refs FAIL "reference decode failed"; return; }
  start_weston firefox "$FW" "$FH" || { result firefox weston FAIL "weston did not start"; return; }

  # 1. the real vaapitest against our driver
  va_env $ff/vaapitest -d /dev/dri/renderD128 > "$OUT/vaapitest.txt" 2>"$OUT/vaapitest.err"
  vrc=$?
  cat "$OUT/vaapitest.txt"
  sup=$(awk 'prev == "VAAPI_SUPPORTED" {print; exit} {prev = $0}' "$OUT/vaapitest.txt")
  codecs=$(awk 'prev == "VAAPI_HWCODECS" {print; exit} {prev = $0}' "$OUT/vaapitest.txt")
  if [ $vrc = 0 ] && [ "$sup" = TRUE ] && [ -n "$codecs" ] && [ $(( codecs & 16 )) = 16 ]; then
    result firefox vaapitest PASS "VAAPI_SUPPORTED TRUE, VAAPI_HWCODECS $codecs (H.264 bit set)"
  else
    result firefox vaapitest FAIL "rc=$vrc supported=$sup codecs=$codecs"
  fi

  # 2. playback
  cp $ff/glxtest $B/glxtest.real
  cp "$SRC/glxtest-wrap.sh" $B/glxtest-wrap.sh; chmod +x $B/glxtest-wrap.sh
  mount --bind $B/glxtest-wrap.sh $ff/glxtest || { result firefox glxtest-wrap FAIL "bind mount failed"; stop_weston; return; }
  page=$B/ffpage; prof=$B/ffprofile
  rm -rf "$page" "$prof"; mkdir -p "$page" "$prof"
  cp "corpus/$s.mp4" "$page/v.mp4"
  set -- $(awk -v s="$s" '$1 == s {print $3, $4}' corpus/manifest.tsv)
  cat > "$page/index.html" <<HTML
<!DOCTYPE html><html><head><meta charset="utf-8"><style>
html,body{margin:0;padding:0;background:#000;overflow:hidden;width:100%;height:100%}
body{display:flex;align-items:center;justify-content:center}
video{width:${1}px;height:${2}px;display:block}
</style></head><body><video id="v" src="v.mp4" autoplay muted playsinline width="$1" height="$2"></video>
<script>
const v = document.getElementById("v");
v.addEventListener("ended", () => { document.title = "ENDED " + v.currentTime; });
v.addEventListener("error", () => { document.title = "ERROR " + (v.error && v.error.message); });
</script></body></html>
HTML
  cat > "$prof/user.js" <<'JS'
user_pref("media.hardware-video-decoding.force-enabled", true);
user_pref("media.hardware-video-decoding.enabled", true);
user_pref("media.ffmpeg.vaapi.enabled", true);
user_pref("media.rdd-ffmpeg.enabled", true);
user_pref("media.autoplay.default", 0);
user_pref("media.autoplay.blocking_policy", 0);
user_pref("gfx.webrender.all", true);
user_pref("gfx.webrender.software", false);
user_pref("layers.acceleration.force-enabled", true);
user_pref("widget.dmabuf.force-enabled", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("startup.homepage_welcome_url", "");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("app.update.enabled", false);
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("browser.tabs.warnOnClose", false);
user_pref("dom.ipc.processCount", 1);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
JS
  rm -f "$OUT"/fflog*
  t0=$(cut -d' ' -f1 /proc/uptime)
  va_env HANTRO_LOG=$DECODED_LOG LD_PRELOAD=$B/dumbmap-shim.so MOZ_ENABLE_WAYLAND=1 MOZ_DISABLE_RDD_SANDBOX=1 \
    MOZ_LOG=PlatformDecoderModule:5,FFmpegVideo:5,Dmabuf:4 MOZ_LOG_FILE="$OUT/fflog" \
    MOZ_CRASHREPORTER_DISABLE=1 MOZ_GFX_DEBUG=1 \
    firefox-esr --no-remote --profile "$prof" --kiosk "file://$page/index.html" > "$OUT/firefox.out" 2>&1 &
  fp=$!
  # the first picture decoded through the driver, then time for the clip to
  # play out; the decoding processes' names while they run
  # (at most FIREFOX_DECODE_WAIT s of guest time, default 600: the first
  # picture came after 76 s on a lightly loaded 2-core host, after 360 s at load 8;
  # a count of 1-s iterations, as before, overran 480 "s" to 762 s)
  ok=0
  : > "$OUT/firefox-decoders.txt"
  while [ "$(awk -v t0="$t0" '{printf "%d", $1 - t0}' /proc/uptime)" -lt "${FIREFOX_DECODE_WAIT:-600}" ]; do
    kill -0 $fp 2>/dev/null || break
    if [ "$(decoded_count "$OUT/firefox.out")" -gt 0 ]; then ok=1; break; fi
    sleep 1
  done
  t1=$(cut -d' ' -f1 /proc/uptime)
  echo "firefox: first picture decoded through the driver after $(echo "$t1 $t0" | awk '{printf "%.0f", $1 - $2}')s (ok=$ok)"
  # let the clip finish: the last frame stays on screen
  [ $ok = 1 ] && sleep ${FIREFOX_PLAY_WAIT:-40}
  alive=0; kill -0 $fp 2>/dev/null && alive=1
  decoded_by_pid "$OUT/firefox.out" | while read -r n pid; do
    echo "$pid $n $(cat /proc/$pid/comm 2>/dev/null || echo '(exited)')"
  done > "$OUT/firefox-decoders.txt"
  echo "firefox: pictures decoded through the driver (pid count comm; main pid $fp):"; cat "$OUT/firefox-decoders.txt"
  $B/shot.sh "$OUT/firefox-shot" 2>&1
  DMABUF_CHECK_SEARCH=1 DMABUF_CHECK_TOL=${FIREFOX_TOL:-2} DMABUF_CHECK_MAXBAD=${FIREFOX_MAXBAD:-100} $B/dmabuf-check --match "$OUT/firefox-shot" "$OUT/ref-$s" | tee "$OUT/firefox-match.log"
  if [ $alive = 1 ]; then kill $fp; wait $fp 2>/dev/null; else wait $fp; echo "firefox exited early with status $?"; fi
  umount $ff/glxtest
  ls -la "$OUT"/fflog* 2>/dev/null
  grep -hE 'VA-API|VAAPI|vaapi|FFmpeg(Video)?DecoderModule|Codec .* is not accelerated|Hardware WebRender|RDD process only|DMABuf' "$OUT"/fflog* 2>/dev/null | sort | uniq -c | sort -rn | head -30

  cat "$OUT/glxtest-real.txt" "$OUT/glxtest-answer.txt" 2>/dev/null | tr '\n' ' ' | sed 's/^/glxtest: /'; echo
  # Firefox's own words, reported only (they change between versions)
  ffsays="$(strings "$OUT"/fflog* 2>/dev/null | grep -c 'Got VA-API DMABufSurface') 'Got VA-API DMABufSurface', $(strings "$OUT"/fflog* 2>/dev/null | grep -c 'VA-API Got one frame output') 'VA-API Got one frame output', $(strings "$OUT"/fflog* 2>/dev/null | grep -c 'VA-API FFmpeg init successful') 'VA-API FFmpeg init successful' in MOZ_LOG"
  echo "firefox: $ffsays"
  ndec=$(wc -l < "$OUT/firefox-decoders.txt")
  rdd_pid=$(awk 'NR == 1 {print $1}' "$OUT/firefox-decoders.txt")
  rdd_n=$(awk 'NR == 1 {print $2}' "$OUT/firefox-decoders.txt")
  rdd_comm=$(awk 'NR == 1 {$1 = ""; $2 = ""; sub(/^ +/, ""); print}' "$OUT/firefox-decoders.txt")
  if [ "$ndec" = 1 ] && [ "$rdd_comm" = "RDD Process" ] && [ "$rdd_pid" != "$fp" ]; then
    result firefox vaapi-decoding PASS "one process decoded through the driver: pid $rdd_pid '$rdd_comm', $rdd_n pictures ($ffsays)"
  else
    result firefox vaapi-decoding FAIL "want exactly one decoding process, the RDD process (not main pid $fp); got: $(tr '\n' ';' < "$OUT/firefox-decoders.txt") ($ffsays; $(grep -hoE 'Codec [a-z0-9]* is not accelerated|Hardware WebRender is off[^\n]*|VA-API works in RDD process only' "$OUT"/fflog* | sort -u | tr '\n' ';'))"
  fi
  # frames that reached the screen (best match frame k) need >= k + 1 pictures
  shown=$(sed -n 's/.*result=PASS.*/&/p' "$OUT/firefox-match.log" | sed -n 's/.* best=frame\([0-9][0-9]*\) .*/\1/p' | head -1)
  if [ -n "$shown" ] && [ "$ndec" = 1 ] && [ "${rdd_n:-0}" -ge $((shown + 1)) ]; then
    result firefox vaapi-frames PASS "screen shows decoded frame $shown; the RDD process decoded $rdd_n pictures through the driver (>= $((shown + 1)))"
  else
    result firefox vaapi-frames FAIL "screen shows frame '${shown:-none}' (match: $(sed 's/.*best=/best=/' "$OUT/firefox-match.log")), the RDD process decoded ${rdd_n:-0} pictures (${ndec} decoding processes)"
  fi
  perr=$(grep -hE 'Decode error|MediaDecoderStateMachine.*error' "$OUT/firefox.out" | head -2)
  if [ -z "$perr" ]; then
    result firefox playback INFO "no media error reported"
  else
    result firefox playback INFO "content process reports: $perr"
  fi
  if grep -q 'result=PASS' "$OUT/firefox-match.log"; then
    result firefox screenshot PASS "$(sed 's/.*best=/best=/' "$OUT/firefox-match.log")"
  else
    result firefox screenshot FAIL "$(cat "$OUT/firefox-match.log")"
  fi
  # real crashes only ("Crash Annotation GraphicsCriticalError" lines are
  # gfx notes attached to future crash reports, not crashes)
  crashed=$(grep -hE 'Segmentation fault|SIGSEGV|MOZ_CRASH\(|MozCrashReason|has crashed|GenerateDump|Assertion failure' "$OUT/firefox.out" 2>/dev/null | head -3)
  if [ $alive = 1 ] && [ -z "$crashed" ] && [ -z "$(ls "$prof/minidumps" 2>/dev/null)" ]; then
    result firefox no-crash PASS "alive at the screenshot, no crash in the logs"
  else
    result firefox no-crash FAIL "alive=$alive $crashed"
  fi
  stop_weston
}
