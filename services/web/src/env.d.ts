declare const __DEV_API_TARGET__: string;
