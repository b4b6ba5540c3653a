// Liking a post: the button shows the change at once, the API's answer then says the truth.

export interface LikeState {
  liked: boolean;
  count: number;
}

/** What to show right after a press: the other state, the count one up or down (never below 0). */
export function toggled(state: LikeState): LikeState {
  return state.liked
    ? { liked: false, count: Math.max(0, state.count - 1) }
    : { liked: true, count: state.count + 1 };
}

/** The API's answer (`LikeOut`) as the state to show. */
export const fromAnswer = (answer: { liked: boolean; like_count: number }): LikeState => ({
  liked: answer.liked,
  count: Math.max(0, answer.like_count),
});
