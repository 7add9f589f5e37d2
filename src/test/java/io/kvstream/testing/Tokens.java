package io.kvstream.testing;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import com.auth0.jwt.algorithms.Algorithm;

/** JWTs as a hostile client can make them: any payload, signed with the right secret. */
public final class Tokens {
    private Tokens() {
    }

    /** An HS256 token over exactly this payload. */
    public static String hs256(String secret, String payloadJson) {
        Base64.Encoder base64 = Base64.getUrlEncoder().withoutPadding();
        String header = base64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String payload = base64.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8));
        byte[] signature = Algorithm.HMAC256(secret).sign(header.getBytes(StandardCharsets.US_ASCII),
                                                          payload.getBytes(StandardCharsets.US_ASCII));
        return header + "." + payload + "." + base64.encodeToString(signature);
    }
}
