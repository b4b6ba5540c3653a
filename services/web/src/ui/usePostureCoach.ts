import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import { grabFrame } from "../posture/cameraFrames";
import { startCoachLoop, type CoachLoop, type CoachMode } from "../posture/coach";
import { createPoseDetector, inBrowserPoseUnsupported, type PoseDetector } from "../posture/inBrowserPose";
import { skeletonSegments, type Landmark } from "../posture/landmarks";
import { openPostureStream, type PostureStream, type PostureStreamState } from "../posture/postureStream";

export type CameraPhase = "off" | "starting" | "on" | "hidden";
/** Why the camera could not start; strings.ts has a sentence for each. */
export type CameraProblem = "cameraDenied" | "noCamera" | "cameraUnsupported" | "cameraFailed";

export interface PostureCoach {
  phase: CameraPhase;
  mode: CoachMode | null;
  /** The in-browser model is loading (first use: seconds). */
  loadingModel: boolean;
  /** Why landmarks are not computed on the device (server mode), when that was not a choice. */
  fallbackReason: "no_webassembly" | "no_webgl" | "model_failed" | null;
  problem: CameraProblem | null;
  state: PostureStreamState | null;
  videoRef: RefObject<HTMLVideoElement>;
  overlayRef: RefObject<HTMLCanvasElement>;
  start(): Promise<void>;
  stop(): void;
  stream: PostureStream | null;
}

function cameraProblem(error: unknown): CameraProblem {
  const name = (error as { name?: string } | null)?.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "cameraDenied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "noCamera";
  return "cameraFailed";
}

function drawSkeleton(canvas: HTMLCanvasElement | null, video: HTMLVideoElement | null, landmarks: Landmark[] | null) {
  if (!canvas || !video) return;
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return;
  context.clearRect(0, 0, width, height);
  const { segments, points } = skeletonSegments(landmarks, width, height);
  context.lineWidth = Math.max(2, width / 160);
  context.strokeStyle = "rgba(80, 220, 140, 0.9)";
  context.fillStyle = "rgba(255, 255, 255, 0.95)";
  for (const { from, to } of segments) {
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
  }
  for (const point of points) {
    context.beginPath();
    context.arc(point.x, point.y, context.lineWidth * 1.5, 0, Math.PI * 2);
    context.fill();
  }
}

/**
 * The camera, the posture socket and the send loop of the coach page. The camera is
 * released while the tab is hidden (and the session paused), and taken again when it is
 * shown; leaving the page releases everything. The loop starts only once it is known
 * whether the device computes the landmarks, so no frame goes out before that is decided.
 */
export function usePostureCoach(getToken: () => string | null): PostureCoach {
  const videoRef = useRef<HTMLVideoElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const frameCanvas = useRef<HTMLCanvasElement | null>(null);
  const media = useRef<MediaStream | null>(null);
  const loop = useRef<CoachLoop | null>(null);
  const detector = useRef<PoseDetector | null>(null);
  const streamRef = useRef<PostureStream | null>(null);
  const tokenRef = useRef(getToken);
  tokenRef.current = getToken;
  const [phase, setPhase] = useState<CameraPhase>("off");
  const [mode, setMode] = useState<CoachMode | null>(null);
  const [loadingModel, setLoadingModel] = useState(false);
  const [fallbackReason, setFallbackReason] = useState<PostureCoach["fallbackReason"]>(null);
  const [problem, setProblem] = useState<CameraProblem | null>(null);
  const [state, setState] = useState<PostureStreamState | null>(null);
  const phaseRef = useRef(phase);
  phaseRef.current = phase;

  const releaseCamera = useCallback(() => {
    loop.current?.stop();
    loop.current = null;
    for (const track of media.current?.getTracks() ?? []) track.stop();
    media.current = null;
    if (videoRef.current) videoRef.current.srcObject = null;
    drawSkeleton(overlayRef.current, videoRef.current, null);
  }, []);

  const openCamera = useCallback(async (): Promise<boolean> => {
    if (!navigator.mediaDevices?.getUserMedia) {
      setProblem("cameraUnsupported");
      return false;
    }
    try {
      const camera = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
      media.current = camera;
      const video = videoRef.current;
      if (video) {
        video.srcObject = camera;
        await video.play().catch(() => {});
      }
      return true;
    } catch (error) {
      setProblem(cameraProblem(error));
      return false;
    }
  }, []);

  const startLoop = useCallback(() => {
    const video = videoRef.current;
    const stream = streamRef.current;
    if (!video || !stream) return;
    frameCanvas.current ??= document.createElement("canvas");
    const canvas = frameCanvas.current;
    loop.current = startCoachLoop({
      stream,
      camera: video,
      detector: detector.current,
      grabFrame: () => grabFrame(video, canvas, stream.getState().limits?.maxFrameBytes ?? 2 * 1024 * 1024),
      onLandmarks: (landmarks) => drawSkeleton(overlayRef.current, video, landmarks),
      onFallback: () => {
        detector.current = null;
        setMode("server");
        setFallbackReason("model_failed");
      },
    });
    setMode(loop.current.mode());
  }, []);

  const start = useCallback(async () => {
    if (phaseRef.current !== "off") return;
    setProblem(null);
    setPhase("starting");
    if (!(await openCamera())) return setPhase("off");
    if (!streamRef.current) {
      const stream = openPostureStream({ getToken: () => tokenRef.current() });
      streamRef.current = stream;
      stream.subscribe(setState);
    }
    if (!detector.current && fallbackReason === null) {
      const unsupported = inBrowserPoseUnsupported();
      if (unsupported) {
        setFallbackReason(unsupported);
      } else {
        setLoadingModel(true);
        try {
          detector.current = await createPoseDetector();
        } catch {
          setFallbackReason("model_failed");
        } finally {
          setLoadingModel(false);
        }
      }
    }
    if (!media.current) return; // stopped while the model loaded
    setPhase("on");
    startLoop();
  }, [openCamera, startLoop, fallbackReason]);

  const stop = useCallback(() => {
    releaseCamera();
    streamRef.current?.close();
    streamRef.current = null;
    setState(null);
    setMode(null);
    setPhase("off");
  }, [releaseCamera]);

  // The camera is released while the tab is hidden, and taken again when it is shown.
  useEffect(() => {
    async function onVisibility() {
      if (document.hidden && phaseRef.current === "on") {
        releaseCamera();
        streamRef.current?.pause();
        setPhase("hidden");
      } else if (!document.hidden && phaseRef.current === "hidden") {
        setPhase("starting");
        if (!(await openCamera())) return setPhase("off");
        streamRef.current?.resume();
        setPhase("on");
        startLoop();
      }
    }
    const listener = () => void onVisibility();
    document.addEventListener("visibilitychange", listener);
    return () => document.removeEventListener("visibilitychange", listener);
  }, [openCamera, releaseCamera, startLoop]);

  // Leaving the page lets go of everything.
  useEffect(
    () => () => {
      releaseCamera();
      streamRef.current?.close();
      streamRef.current = null;
      detector.current?.close();
      detector.current = null;
    },
    [releaseCamera],
  );

  return {
    phase,
    mode,
    loadingModel,
    fallbackReason,
    problem,
    state,
    videoRef,
    overlayRef,
    start,
    stop,
    stream: streamRef.current,
  };
}
