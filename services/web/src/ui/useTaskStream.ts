import { useEffect, useRef, useState } from "react";
import { openTaskStream, type PreviewOptions, type TaskStream, type TaskStreamState } from "../tasks/taskStream";

export const PREVIEW_OPTIONS: PreviewOptions = { max_side: 256, every_s: 0.5 };

/** The task's live state while `active`; previews on or off as asked, without reconnecting. */
export function useTaskStream(
  taskId: string,
  active: boolean,
  previews: boolean,
  getToken: () => string | null,
): TaskStreamState | null {
  const [state, setState] = useState<TaskStreamState | null>(null);
  const stream = useRef<TaskStream | null>(null);
  const previewsRef = useRef(previews);
  previewsRef.current = previews;
  const tokenRef = useRef(getToken);
  tokenRef.current = getToken;

  useEffect(() => {
    if (!active) return;
    const opened = openTaskStream({
      taskId,
      getToken: () => tokenRef.current(),
      previews: previewsRef.current ? PREVIEW_OPTIONS : null,
    });
    stream.current = opened;
    const unsubscribe = opened.subscribe(setState);
    return () => {
      unsubscribe();
      opened.close();
      stream.current = null;
    };
  }, [taskId, active]);

  useEffect(() => {
    stream.current?.setPreviews(previews ? PREVIEW_OPTIONS : null);
  }, [previews]);

  return state;
}
