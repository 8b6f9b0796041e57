// State the recording page and its plots share: the recording on screen.
export const page = { current: null };
