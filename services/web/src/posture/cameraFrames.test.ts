import { describe, expect, it } from "vitest";
import { fittingJpeg, frameSize } from "./cameraFrames";
import { inBrowserPoseUnsupported } from "./inBrowserPose";
import { poseFileUrl, POSE_FILES } from "./poseAssets";

describe("frameSize", () => {
  it("keeps small frames and scales the long side of large ones to the limit", () => {
    expect(frameSize(320, 240)).toEqual({ width: 320, height: 240 });
    expect(frameSize(1920, 1080)).toEqual({ width: 640, height: 360 });
    expect(frameSize(720, 1280)).toEqual({ width: 360, height: 640 });
    expect(frameSize(0, 0)).toEqual({ width: 0, height: 0 });
  });
});

describe("fittingJpeg", () => {
  it("lowers the quality until the frame fits the service's byte limit", async () => {
    const asked: number[] = [];
    const encode = async (quality: number) => {
      asked.push(quality);
      return new Blob([new Uint8Array(Math.round(quality * 1000))]);
    };
    expect((await fittingJpeg(encode, 600))?.size).toBe(500);
    expect(asked).toEqual([0.7, 0.5]);
    expect(await fittingJpeg(encode, 100)).toBeNull();
  });
});

describe("in-browser pose", () => {
  const canvas = (kinds: string[]) => ({ createElement: () => ({ getContext: (kind: string) => (kinds.includes(kind) ? {} : null) }) });

  it("needs WebAssembly and WebGL", () => {
    expect(inBrowserPoseUnsupported({ WebAssembly: {}, document: canvas(["webgl2"]) })).toBeNull();
    expect(inBrowserPoseUnsupported({ WebAssembly: {}, document: canvas(["webgl"]) })).toBeNull();
    expect(inBrowserPoseUnsupported({ WebAssembly: {}, document: canvas([]) })).toBe("no_webgl");
    expect(inBrowserPoseUnsupported({ document: canvas(["webgl2"]) })).toBe("no_webassembly");
  });

  it("finds MediaPipe's files at our own origin, whatever path it asks with", () => {
    expect(poseFileUrl("pose_landmark_full.tflite")).toBe("/mediapipe/pose/pose_landmark_full.tflite");
    expect(poseFileUrl("https://cdn.example/x/pose_web.binarypb")).toBe("/mediapipe/pose/pose_web.binarypb");
    expect(POSE_FILES).toContain("pose_landmark_full.tflite");
  });
});
